{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='issue_id',
        on_schema_change='append_new_columns'
    )
}}

-- Jira issues, one row each (DESIGN section 4), with lead and cycle time from the changelog
-- (int_jira_issue_times) and the assignee resolved to a developer by Jira account id, else by e-mail.
-- Incremental: a row's value comes from its issue record, its changelog transitions and identity
-- resolution. A build re-selects the issues whose issue record or any transition was landed since the
-- table's newest extracted_at minus var('incremental_lookback_hours') (macros/incremental_filters.sql),
-- the issues not in the table yet, and the issues whose assignee now resolves to another developer than
-- the stored one (macros/incremental_changes.sql: a team-mapping change or a learned identity changes
-- exactly that column, so comparing it rewrites those rows only, instead of every row as an identity
-- fingerprint would); delete+insert on issue_id replaces their old versions. is_incident is landed with
-- the record (incidents.jira_issue_types is applied by the connector), so that setting needs no
-- fingerprint here: both build paths read the same landed flag.

with

issues as (

    select * from {{ ref('stg_jira__issues') }}

),

transitions as (

    select * from {{ ref('stg_jira__status_transitions') }}

),

times as (

    select * from {{ ref('int_jira_issue_times') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

assignees as (

    select
        issues.issue_id,
        coalesce(by_account.developer_id, by_email.developer_id) as assignee_developer_id
    from issues
    left join identities as by_account
        on by_account.identity_type = 'jira_account_id'
        and by_account.identity_value = lower(issues.assignee_account_id)
    left join identities as by_email
        on by_email.identity_type = 'email'
        and by_email.identity_value = issues.assignee_email

),

-- the newest landing of an issue's records: the issue itself and its changelog transitions
landings as (

    select issue_id, max(extracted_at) as extracted_at
    from (
        select issue_id, extracted_at from issues
        union all
        select issue_id, extracted_at from transitions
    ) as landed_records
    group by issue_id

),

{% if is_incremental() %}
stored as (

    select issue_id, assignee_developer_id from {{ this }}

),
{% endif %}

selected_issues as (

    select
        issues.issue_id,
        landings.extracted_at,
        assignees.assignee_developer_id
    from issues
    inner join landings
        on landings.issue_id = issues.issue_id
    left join assignees
        on assignees.issue_id = issues.issue_id
    {% if is_incremental() %}
    left join stored
        on stored.issue_id = issues.issue_id
    where landings.extracted_at > {{ incremental_watermark() }}
        or stored.issue_id is null
        or {{ values_differ('assignees.assignee_developer_id', 'stored.assignee_developer_id') }}
    {% endif %}

),

final as (

    select

        ----------  ids
        issues.issue_id,
        issues.issue_source_id as source_id,
        issues.issue_key as key,
        issues.project_key,
        selected_issues.assignee_developer_id,

        ----------  text
        issues.issue_type as type,
        issues.status,
        issues.status_category,
        issues.priority,
        issues.summary,
        issues.sprint,
        issues.components,
        issues.assignee_account_id,

        ----------  numerics
        issues.story_points,

        ----------  timestamps (UTC)
        issues.created_at,
        times.started_at,
        times.resolved_at,

        ----------  durations (hours)
        times.lead_hours,
        times.cycle_hours,

        ----------  flags and lineage
        issues.is_incident,
        times.has_negative_duration,
        times.resolved_from,
        times.status_transitions,

        ----------  landing lineage (drives the incremental builds)
        selected_issues.extracted_at

    from selected_issues
    inner join issues
        on issues.issue_id = selected_issues.issue_id
    inner join times
        on times.issue_id = selected_issues.issue_id

)

select * from final
