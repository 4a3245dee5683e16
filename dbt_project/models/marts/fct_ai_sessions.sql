{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='session_id',
        on_schema_change='append_new_columns'
    )
}}
{%- set incremental = incremental_ready(['extracted_at', 'identity_fingerprint', 'config_fingerprint']) %}
-- depends_on: {{ ref('int_pull_request_stages') }}

-- Claude Code sessions from the local transcripts, one row per session_id (DESIGN section 4), built
-- from the counted API responses (int_ai_session_lines). Active hours sum the gaps between the
-- session's consecutive counted responses that are at most 5 minutes; longer gaps are idle. The
-- session's repository, branch and pull request are those most of its cost maps to (see the YAML).
-- Incremental (macros/incremental_filters.sql), delete+insert on session_id. A build recomputes the
-- sessions with a line landed after the table's newest extracted_at minus the lookback, the sessions with
-- a line on the repository and branch of a PR whose inputs landed after it (the PR's window may now
-- claim the line), and every session when identity resolution or the configuration (prices, repo
-- paths, known repositories and default branches) changed.

with

identity_state as (

    {{ identity_fingerprint_sql() }}

),

config_state as (

    {{ config_fingerprint_sql() }}

),

-- each line with when it landed (the landed version int_ai_session_lines kept)
landed_lines as (

    select
        session_lines.*,
        messages.extracted_at
    from {{ ref('int_ai_session_lines') }} as session_lines
    inner join {{ ref('stg_claude_code__transcript_messages') }} as messages
        on messages.message_key = session_lines.message_key

),
{% if incremental %}

-- repository and branch of the PRs whose window may have moved: created, merged, closed or first commit
changed_branches as (

    select distinct pull_requests.repository_full_name, pull_requests.head_branch
    from {{ ref('stg_github__pull_requests') }} as pull_requests
    inner join {{ ref('int_pull_request_stages') }} as stages
        on stages.pull_request_id = pull_requests.pull_request_id
    where stages.inputs_extracted_at > {{ incremental_watermark() }}
        and pull_requests.head_branch is not null

),

selected_sessions as (

    select distinct landed_lines.session_id
    from landed_lines
    left join changed_branches
        on changed_branches.repository_full_name = landed_lines.repository_full_name
        and changed_branches.head_branch = landed_lines.git_branch
    where landed_lines.extracted_at > {{ incremental_watermark() }}
        or changed_branches.head_branch is not null
        or {{ identity_changed() }}
        or {{ config_changed() }}

),
{% endif %}

lines as (

    select *
    from landed_lines
    {% if incremental %}
    where session_id in (select session_id from selected_sessions)
    {% endif %}

),

ordered_lines as (

    select
        session_id,
        message_at,
        lag(message_at) over (partition by session_id order by message_at, message_key) as previous_message_at
    from lines

),

active as (

    select
        session_id,
        sum(
            case
                when previous_message_at is not null
                    and {{ hours_between('previous_message_at', 'message_at') }} <= 5.0 / 60.0
                    then {{ hours_between('previous_message_at', 'message_at') }}
                else 0
            end
        ) as active_hours
    from ordered_lines
    group by session_id

),

session_models as (

    select distinct session_id, model
    from lines
    where model is not null

),

models as (

    select
        session_id,
        {{ dbt.listagg('model', "','", 'order by model') }} as models
    from session_models
    group by session_id

),

totals as (

    select
        session_id,
        min(developer_id) as developer_id,
        min(message_at) as started_at,
        max(message_at) as ended_at,
        count(*) as message_count,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_creation_tokens) as cache_creation_tokens,
        sum(cost_usd) as cost_usd,
        coalesce(sum(case when is_sidechain then cost_usd end), 0) as sidechain_cost_usd,
        max(extracted_at) as extracted_at
    from lines
    group by session_id

),

-- the (repository, branch, pull request) carrying most of the session's cost; unattributed lines
-- compete as their own group, so a session mostly outside any PR keeps pull_request_id null
attribution_groups as (

    select
        session_id,
        repository_id,
        git_branch,
        pull_request_id,
        coalesce(sum(cost_usd), 0) as group_cost_usd,
        count(*) as group_message_count
    from lines
    group by 1, 2, 3, 4

),

attribution as (

    select session_id, repository_id, git_branch, pull_request_id
    from (
        select
            attribution_groups.*,
            row_number() over (
                partition by session_id
                order by group_cost_usd desc, group_message_count desc,
                    case when pull_request_id is null then 1 else 0 end, pull_request_id,
                    case when repository_id is null then 1 else 0 end, repository_id, git_branch
            ) as attribution_rank
        from attribution_groups
    ) as ranked
    where attribution_rank = 1

),

final as (

    select

        ----------  ids
        totals.session_id,
        totals.session_id as source_id,
        totals.developer_id,
        attribution.repository_id,
        attribution.pull_request_id,

        ----------  text
        attribution.git_branch as branch,
        models.models,

        ----------  timestamps (UTC)
        totals.started_at,
        totals.ended_at,

        ----------  durations (hours)
        cast(active.active_hours as {{ type_double() }}) as active_hours,
        {{ hours_between('totals.started_at', 'totals.ended_at') }} as span_hours,

        ----------  tokens and cost
        totals.message_count,
        totals.input_tokens,
        totals.output_tokens,
        totals.cache_read_tokens,
        totals.cache_creation_tokens,
        cast(totals.cost_usd as {{ type_double() }}) as cost_usd,
        cast(totals.sidechain_cost_usd as {{ type_double() }}) as sidechain_cost_usd,

        ----------  lineage
        'transcripts' as source,
        totals.extracted_at,
        (select identity_fingerprint from identity_state) as identity_fingerprint,
        (select config_fingerprint from config_state) as config_fingerprint

    from totals
    inner join active
        on active.session_id = totals.session_id
    left join models
        on models.session_id = totals.session_id
    left join attribution
        on attribution.session_id = totals.session_id

)

select * from final
