{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='pull_request_id',
        on_schema_change='append_new_columns'
    )
}}
{%- set incremental = incremental_ready(['extracted_at', 'identity_fingerprint', 'config_fingerprint',
                                         'author_ai_adopted_at']) %}

-- Pull requests, one row each, with their stages (DESIGN section 5), author resolved to a developer
-- and whether the PR was AI-assisted. ai_sessions, ai_cost_usd and ai_output_tokens sum the Claude Code
-- transcript lines attributed to the PR (int_ai_session_lines); 0 when no line is attributed to it.
-- Bots' PRs (is_bot: dependabot, renovate) stay in the facts (they are changes that ship, so stages,
-- deployments and DORA count them) but are nobody's work: author_developer_id is null, which keeps them
-- out of developer metrics and the causal panel (mart_ai_impact_panel reads author_developer_id).
-- Reverts are recognised the way GitHub's revert button writes them: title 'Revert "<title>"' and head
-- branch 'revert-<number>-<branch>' (the number is the reverted PR's; a revert made by hand has the
-- title but no such branch, so is_revert with a null reverted_pr_number).
-- Incremental (macros/incremental_filters.sql), delete+insert on pull_request_id. A build re-selects:
--   * the PRs whose own inputs (the PR, its commits, its reviews; int_pull_request_stages.
--     inputs_extracted_at) landed after the table's newest extracted_at minus the lookback;
--   * the PRs whose stored value of a column computed from other entities differs from its current
--     value: first deployment (a late deployment, status or commit range, or a new baseline, moves it),
--     AI sessions, cost and tokens (a line landed late, or moved to a newly landed PR of the same branch),
--     the author's ai_adopted_at (new usage), reverted_by_pr_number (a new revert of an old PR). Comparing
--     values is exact where landing times are not: it also catches what changes without any landing;
--   * every PR when identity resolution or the configuration changed (the stored fingerprints differ).
-- tests/dbt/test_incremental_pull_requests.py shows an incremental build equals a full one.

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

identity_state as (

    {{ identity_fingerprint_sql() }}

),

config_state as (

    {{ config_fingerprint_sql() }}

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
    where not pull_requests.is_bot

),

revert_numbers as (

    select
        pull_request_id,
        coalesce(title like 'Revert "%', false) as is_revert,
        {{ dbt.split_part('head_branch', "'-'", 2) }} as branch_number
    from pull_requests

),

reverts as (

    select
        pull_request_id,
        is_revert,
        case
            when is_revert and head_branch like 'revert-%-%' and branch_number <> ''
                and translate(branch_number, '0123456789', '') = ''
                then cast(branch_number as {{ dbt.type_int() }})
        end as reverted_pr_number
    from revert_numbers
    inner join pull_requests using (pull_request_id)

),

reverted as (

    -- the first merged PR that reverts each PR
    select
        pull_requests.repository_full_name,
        reverts.reverted_pr_number,
        min(pull_requests.pull_request_number) as reverted_by_pr_number
    from reverts
    inner join pull_requests
        on pull_requests.pull_request_id = reverts.pull_request_id
    where reverts.reverted_pr_number is not null
        and pull_requests.merged_at is not null
    group by pull_requests.repository_full_name, reverts.reverted_pr_number

),

-- what each PR's row takes from other entities, for every PR: an incremental build compares it with
-- the stored row
derived as (

    select
        pull_requests.pull_request_id,
        reverts.is_revert,
        reverts.reverted_pr_number,
        reverted.reverted_by_pr_number,
        authors.author_developer_id,
        ai_adoption.ai_adopted_at as author_ai_adopted_at,
        coalesce(ai_lines.ai_sessions, 0) as ai_sessions,
        cast(coalesce(ai_lines.ai_cost_usd, 0) as {{ type_double() }}) as ai_cost_usd,
        coalesce(ai_lines.ai_output_tokens, 0) as ai_output_tokens
    from pull_requests
    left join authors
        on authors.pull_request_id = pull_requests.pull_request_id
    left join ai_adoption
        on ai_adoption.developer_id = authors.author_developer_id
    left join ai_lines
        on ai_lines.pull_request_id = pull_requests.pull_request_id
    inner join reverts
        on reverts.pull_request_id = pull_requests.pull_request_id
    left join reverted
        on reverted.repository_full_name = pull_requests.repository_full_name
        and reverted.reverted_pr_number = pull_requests.pull_request_number

),
{% if incremental %}

stored as (

    select
        pull_request_id,
        first_deployed_at,
        first_deployment_id,
        deployment_link_reason,
        ai_sessions,
        ai_cost_usd,
        ai_output_tokens,
        author_ai_adopted_at,
        reverted_by_pr_number
    from {{ this }}

),

selected_pull_requests as (

    select stages.pull_request_id
    from stages
    inner join derived
        on derived.pull_request_id = stages.pull_request_id
    left join stored
        on stored.pull_request_id = stages.pull_request_id
    where stored.pull_request_id is null
        or stages.inputs_extracted_at > {{ incremental_watermark() }}
        or {{ any_value_differs(['first_deployed_at', 'first_deployment_id', 'deployment_link_reason'],
                                computed='stages', stored='stored') }}
        or {{ any_value_differs(['ai_sessions', 'ai_cost_usd', 'ai_output_tokens', 'author_ai_adopted_at',
                                 'reverted_by_pr_number'], computed='derived', stored='stored') }}
        or {{ identity_changed() }}
        or {{ config_changed() }}

),
{% endif %}

joined as (

    select
        pull_requests.*,
        derived.is_revert,
        derived.reverted_pr_number,
        derived.reverted_by_pr_number,
        derived.author_developer_id,
        derived.author_ai_adopted_at,
        stages.first_commit_at,
        stages.review_ready_at,
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
        stages.inputs_extracted_at,
        derived.ai_sessions,
        derived.ai_cost_usd,
        derived.ai_output_tokens
    from pull_requests
    inner join stages
        on stages.pull_request_id = pull_requests.pull_request_id
    inner join derived
        on derived.pull_request_id = pull_requests.pull_request_id
    {% if incremental %}
    where pull_requests.pull_request_id in (select pull_request_id from selected_pull_requests)
    {% endif %}

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
        ready_for_review_at,
        review_ready_at,
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

        ----------  reverts
        reverted_pr_number,
        reverted_by_pr_number,

        ----------  flags
        is_draft,
        is_bot,
        is_revert,
        reverted_by_pr_number is not null as is_reverted,
        merged_at is not null as is_merged,
        has_negative_stage,
        has_claude_coauthor_trailer,
        (
            coalesce({{ week_start('created_at') }} >= author_ai_adopted_at, false)
            or has_claude_coauthor_trailer
        ) as is_ai_assisted,

        ----------  AI adoption of the author (drives is_ai_assisted and the incremental builds)
        author_ai_adopted_at,

        ----------  landing lineage (drives the incremental builds)
        inputs_extracted_at as extracted_at,
        (select identity_fingerprint from identity_state) as identity_fingerprint,
        (select config_fingerprint from config_state) as config_fingerprint

    from joined

)

select * from final
