-- Identities seen in the sources that matched no person of the team mapping (DESIGN section 2: never
-- dropped silently), one row per (identity_kind, identity_value), with how many records carry it and
-- that identity's share of its kind's records (and of its kind's AI cost, where there is one).
-- Kinds: github_login (PR authors, reviewers, commit authors), commit_email, anthropic_user (Admin
-- API user actors), anthropic_api_key (API actors: keys, never a person), jira_account (assignees),
-- transcript_folder (transcript folders whose name matched nobody).

with

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

reviews as (

    select * from {{ ref('stg_github__reviews') }}

),

pull_request_commits as (

    select * from {{ ref('stg_github__pull_request_commits') }}

),

actor_days as (

    select * from {{ ref('stg_anthropic__claude_code_actor_days') }}

),

model_days as (

    select * from {{ ref('stg_anthropic__claude_code_model_days') }}

),

jira_issues as (

    select * from {{ ref('stg_jira__issues') }}

),

transcript_messages as (

    select * from {{ ref('stg_claude_code__transcript_messages') }}

),

session_lines as (

    -- the lines' cost with the pricing seed's fallback applied
    select message_key, cost_usd from {{ ref('int_ai_session_lines') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

model_day_costs as (

    select actor_type, actor_id, activity_date, sum(cost_usd) as cost_usd
    from model_days
    group by 1, 2, 3

),

observations as (

    select
        'github_login' as identity_kind,
        author_login as identity_value,
        lower(author_login) as match_value,
        'github_login' as match_type,
        coalesce(author_type = 'Bot' or lower(author_login) like '%[bot]', false) as is_bot,
        created_at as seen_at,
        cast(null as {{ type_double() }}) as cost_usd
    from pull_requests
    where author_login is not null

    union all

    select 'github_login', reviewer_login, lower(reviewer_login), 'github_login',
        lower(reviewer_login) like '%[bot]', submitted_at, cast(null as {{ type_double() }})
    from reviews
    where reviewer_login is not null

    union all

    select 'github_login', author_login, lower(author_login), 'github_login',
        lower(author_login) like '%[bot]', authored_at, cast(null as {{ type_double() }})
    from pull_request_commits
    where author_login is not null

    union all

    select 'commit_email', lower(author_email), lower(author_email), 'email',
        lower(author_email) like '%[bot]@users.noreply.github.com', authored_at, cast(null as {{ type_double() }})
    from pull_request_commits
    where author_email is not null

    union all

    select
        case when actor_days.actor_type = 'user_actor' then 'anthropic_user' else 'anthropic_api_key' end,
        actor_days.actor_id,
        case when actor_days.actor_type = 'user_actor' then lower(actor_days.actor_id) end,
        'email',
        false,
        cast(actor_days.activity_date as {{ dbt.type_timestamp() }}),
        cast(model_day_costs.cost_usd as {{ type_double() }})
    from actor_days
    left join model_day_costs
        on model_day_costs.actor_type = actor_days.actor_type
        and model_day_costs.actor_id = actor_days.actor_id
        and model_day_costs.activity_date = actor_days.activity_date

    union all

    select 'jira_account', assignee_account_id, lower(assignee_account_id), 'jira_account_id',
        false, created_at, cast(null as {{ type_double() }})
    from jira_issues
    where assignee_account_id is not null

    union all

    select 'transcript_folder', transcript_messages.developer_identity, transcript_messages.developer_email, 'email',
        false, transcript_messages.message_at, session_lines.cost_usd
    from transcript_messages
    inner join session_lines
        on session_lines.message_key = transcript_messages.message_key
    where transcript_messages.developer_identity is not null

),

matched as (

    select
        observations.*,
        identities.developer_id
    from observations
    left join identities
        on identities.identity_type = observations.match_type
        and identities.identity_value = observations.match_value

),

kind_totals as (

    select
        identity_kind,
        count(*) as kind_records,
        sum(cost_usd) as kind_cost_usd
    from matched
    group by identity_kind

),

unmatched as (

    select
        identity_kind,
        identity_value,
        {{ dbt.bool_or('is_bot') }} as is_bot,
        count(*) as records,
        sum(cost_usd) as cost_usd,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at
    from matched
    where developer_id is null
    group by identity_kind, identity_value

),

final as (

    select

        ----------  ids
        {{ md5_key(['unmatched.identity_kind', 'unmatched.identity_value'], "':'") }} as unmatched_identity_id,

        ----------  identity
        unmatched.identity_kind,
        unmatched.identity_value,
        unmatched.is_bot,

        ----------  counts and shares
        unmatched.records,
        kind_totals.kind_records,
        cast(unmatched.records as {{ type_double() }}) / kind_totals.kind_records as share_of_records,
        cast(unmatched.cost_usd as {{ type_double() }}) as cost_usd,
        case
            when kind_totals.kind_cost_usd > 0
                then cast(unmatched.cost_usd as {{ type_double() }}) / kind_totals.kind_cost_usd
        end as share_of_cost,

        ----------  timestamps (UTC)
        unmatched.first_seen_at,
        unmatched.last_seen_at

    from unmatched
    inner join kind_totals
        on kind_totals.identity_kind = unmatched.identity_kind

)

select * from final
