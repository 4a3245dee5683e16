-- Pull requests, one row each, with their stages (DESIGN section 5), author resolved to a developer
-- and whether the PR was AI-assisted. ai_sessions, ai_cost_usd and ai_output_tokens sum the Claude Code
-- transcript lines attributed to the PR (int_ai_session_lines); 0 when no line is attributed to it.

with

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

stages as (

    select * from {{ ref('int_pull_request_stages') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

ai_adoption as (

    select * from {{ ref('int_ai_adoption') }}

),

ai_lines as (

    select
        pull_request_id,
        count(distinct session_id) as ai_sessions,
        coalesce(sum(cost_usd), 0) as ai_cost_usd,
        coalesce(sum(output_tokens), 0) as ai_output_tokens
    from {{ ref('int_ai_session_lines') }}
    where pull_request_id is not null
    group by pull_request_id

),

authors as (

    select
        pull_requests.pull_request_id,
        identities.developer_id as author_developer_id
    from pull_requests
    inner join identities
        on identities.identity_type = 'github_login'
        and identities.identity_value = lower(pull_requests.author_login)

),

joined as (

    select
        pull_requests.*,
        authors.author_developer_id,
        ai_adoption.ai_adopted_at as author_ai_adopted_at,
        stages.first_commit_at,
        stages.first_review_at,
        stages.approved_at,
        stages.first_deployed_at,
        stages.first_deployment_id,
        stages.deployment_link_reason,
        stages.coding_hours,
        stages.pickup_hours,
        stages.review_hours,
        stages.deploy_hours,
        stages.cycle_hours,
        stages.lead_time_hours,
        stages.review_count,
        stages.commit_count,
        stages.has_negative_stage,
        stages.has_claude_coauthor_trailer,
        coalesce(ai_lines.ai_sessions, 0) as ai_sessions,
        cast(coalesce(ai_lines.ai_cost_usd, 0) as {{ type_double() }}) as ai_cost_usd,
        coalesce(ai_lines.ai_output_tokens, 0) as ai_output_tokens
    from pull_requests
    left join authors
        on authors.pull_request_id = pull_requests.pull_request_id
    left join ai_adoption
        on ai_adoption.developer_id = authors.author_developer_id
    inner join stages
        on stages.pull_request_id = pull_requests.pull_request_id
    left join ai_lines
        on ai_lines.pull_request_id = pull_requests.pull_request_id

),

final as (

    select

        ----------  ids
        pull_request_id,
        pull_request_source_id as source_id,
        {{ md5_key(['repository_full_name'], "''") }} as repository_id,
        pull_request_number as number,
        author_developer_id,
        first_deployment_id,

        ----------  text
        repository_full_name,
        title,
        state,
        author_login,
        head_branch,
        base_branch,
        merge_commit_sha,
        deployment_link_reason,

        ----------  timestamps (UTC)
        created_at,
        first_commit_at,
        first_review_at,
        approved_at,
        merged_at,
        closed_at,
        first_deployed_at,

        ----------  stage durations (hours)
        coding_hours,
        pickup_hours,
        review_hours,
        deploy_hours,
        cycle_hours,
        lead_time_hours,

        ----------  size and activity
        additions,
        deletions,
        changed_files,
        review_count,
        commit_count,

        ----------  Claude Code transcripts (lines attributed to the PR; 0 when none)
        ai_sessions,
        ai_cost_usd,
        ai_output_tokens,

        ----------  flags
        is_draft,
        merged_at is not null as is_merged,
        has_negative_stage,
        has_claude_coauthor_trailer,
        (
            coalesce({{ week_start('created_at') }} >= author_ai_adopted_at, false)
            or has_claude_coauthor_trailer
        ) as is_ai_assisted

    from joined

)

select * from final
