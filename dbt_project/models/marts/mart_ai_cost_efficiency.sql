-- AI cost efficiency per team and ISO week (DESIGN sections 4 and 5). Usage is one source per
-- developer-day (int_ai_usage_developer_days: Admin API, else transcripts), attributed to the
-- developer's team of the mapping. Delivery is what the team's developers did that week: PRs they
-- authored that were merged, and distinct commits they authored (PR commits, matched by GitHub login
-- or e-mail). Ratios are null when their denominator is 0.
--   cost_per_merged_pr = cost_usd / merged_prs        cost_per_commit = cost_usd / commits
--   input_output_ratio = (input + cache_read + cache_creation) / output   (token efficiency ratio)
--   cache_hit_rate     = cache_read / (input + cache_read + cache_creation)
--   acceptance_rate    = edits_accepted / (edits_accepted + edits_rejected)  (Admin API days only)

with

usage_days as (

    select * from {{ ref('int_ai_usage_developer_days') }}

),

developers as (

    select * from {{ ref('dim_developer') }}

),

teams as (

    select * from {{ ref('dim_team') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

pull_requests as (

    select * from {{ ref('fct_pull_requests') }}

),

pull_request_commits as (

    select * from {{ ref('stg_github__pull_request_commits') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

weeks as (

    select distinct week_start from calendar

),

team_weeks as (

    select teams.team_id, weeks.week_start
    from teams
    cross join weeks

),

weekly_usage as (

    select
        developers.team_id,
        {{ week_start('usage_days.date_day') }} as week_start,
        count(distinct usage_days.developer_id) as ai_developers,
        sum(usage_days.cost_usd) as cost_usd,
        sum(case when usage_days.source = 'anthropic_api' then usage_days.cost_usd else 0 end) as cost_usd_anthropic_api,
        sum(case when usage_days.source = 'transcripts' then usage_days.cost_usd else 0 end) as cost_usd_transcripts,
        sum(usage_days.input_tokens) as input_tokens,
        sum(usage_days.output_tokens) as output_tokens,
        sum(usage_days.cache_read_tokens) as cache_read_tokens,
        sum(usage_days.cache_creation_tokens) as cache_creation_tokens,
        sum(usage_days.edits_accepted) as edits_accepted,
        sum(usage_days.edits_rejected) as edits_rejected
    from usage_days
    inner join developers
        on developers.developer_id = usage_days.developer_id
    group by 1, 2

),

weekly_merged as (

    select
        developers.team_id,
        {{ week_start('pull_requests.merged_at') }} as week_start,
        count(*) as merged_prs
    from pull_requests
    inner join developers
        on developers.developer_id = pull_requests.author_developer_id
    where pull_requests.merged_at is not null
    group by 1, 2

),

commit_authors as (

    select distinct
        pull_request_commits.commit_sha,
        pull_request_commits.authored_at,
        coalesce(by_login.developer_id, by_email.developer_id) as developer_id
    from pull_request_commits
    left join identities as by_login
        on by_login.identity_type = 'github_login'
        and by_login.identity_value = lower(pull_request_commits.author_login)
    left join identities as by_email
        on by_email.identity_type = 'email'
        and by_email.identity_value = lower(pull_request_commits.author_email)

),

weekly_commits as (

    select
        developers.team_id,
        {{ week_start('commit_authors.authored_at') }} as week_start,
        count(distinct commit_authors.commit_sha) as commits
    from commit_authors
    inner join developers
        on developers.developer_id = commit_authors.developer_id
    group by 1, 2

),

joined as (

    select
        team_weeks.team_id,
        team_weeks.week_start,
        coalesce(weekly_usage.ai_developers, 0) as ai_developers,
        coalesce(weekly_usage.cost_usd, 0) as cost_usd,
        coalesce(weekly_usage.cost_usd_anthropic_api, 0) as cost_usd_anthropic_api,
        coalesce(weekly_usage.cost_usd_transcripts, 0) as cost_usd_transcripts,
        coalesce(weekly_usage.input_tokens, 0) as input_tokens,
        coalesce(weekly_usage.output_tokens, 0) as output_tokens,
        coalesce(weekly_usage.cache_read_tokens, 0) as cache_read_tokens,
        coalesce(weekly_usage.cache_creation_tokens, 0) as cache_creation_tokens,
        coalesce(weekly_usage.edits_accepted, 0) as edits_accepted,
        coalesce(weekly_usage.edits_rejected, 0) as edits_rejected,
        coalesce(weekly_merged.merged_prs, 0) as merged_prs,
        coalesce(weekly_commits.commits, 0) as commits
    from team_weeks
    left join weekly_usage
        on weekly_usage.team_id = team_weeks.team_id
        and weekly_usage.week_start = team_weeks.week_start
    left join weekly_merged
        on weekly_merged.team_id = team_weeks.team_id
        and weekly_merged.week_start = team_weeks.week_start
    left join weekly_commits
        on weekly_commits.team_id = team_weeks.team_id
        and weekly_commits.week_start = team_weeks.week_start

),

final as (

    select

        ----------  keys
        team_id,
        week_start,

        ----------  cost
        cast(cost_usd as {{ type_double() }}) as cost_usd,
        cast(cost_usd_anthropic_api as {{ type_double() }}) as cost_usd_anthropic_api,
        cast(cost_usd_transcripts as {{ type_double() }}) as cost_usd_transcripts,
        ai_developers,

        ----------  delivery
        merged_prs,
        commits,
        case when merged_prs > 0 then cast(cost_usd as {{ type_double() }}) / merged_prs end as cost_per_merged_pr,
        case when commits > 0 then cast(cost_usd as {{ type_double() }}) / commits end as cost_per_commit,

        ----------  tokens
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cache_creation_tokens,
        case
            when output_tokens > 0
                then cast(input_tokens + cache_read_tokens + cache_creation_tokens as {{ type_double() }}) / output_tokens
        end as input_output_ratio,
        case
            when input_tokens + cache_read_tokens + cache_creation_tokens > 0
                then cast(cache_read_tokens as {{ type_double() }})
                    / (input_tokens + cache_read_tokens + cache_creation_tokens)
        end as cache_hit_rate,

        ----------  edit decisions (Admin API)
        edits_accepted,
        edits_rejected,
        case
            when edits_accepted + edits_rejected > 0
                then cast(edits_accepted as {{ type_double() }}) / (edits_accepted + edits_rejected)
        end as acceptance_rate

    from joined

)

select * from final
