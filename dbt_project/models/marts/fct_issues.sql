-- Jira issues, one row each (DESIGN section 4), with lead and cycle time from the changelog
-- (int_jira_issue_times) and the assignee resolved to a developer by Jira account id, else by e-mail.

with

issues as (

    select * from {{ ref('stg_jira__issues') }}

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

final as (

    select

        ----------  ids
        issues.issue_id,
        issues.issue_source_id as source_id,
        issues.issue_key as key,
        issues.project_key,
        assignees.assignee_developer_id,

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
        times.status_transitions

    from issues
    inner join times
        on times.issue_id = issues.issue_id
    left join assignees
        on assignees.issue_id = issues.issue_id

)

select * from final
