-- When each Jira issue started and was resolved, from its changelog (DESIGN section 5):
--   started_at  = the first transition into a status of the "In Progress" category (indeterminate);
--   resolved_at = Jira's resolution date, else (an issue whose current status is in the Done category
--                 but that carries no resolution, e.g. a workflow without a resolution screen) the last
--                 transition into a Done-category status;
--   lead_hours  = resolved_at - created_at;  cycle_hours = resolved_at - started_at.
-- A duration that comes out negative (a changelog entry before the issue's creation, a resolution
-- before the work started) is null and the issue is flagged with has_negative_duration, never hidden.
-- Times are UTC: Jira's offsets (+0100) were converted by the landing.

with

issues as (

    select * from {{ ref('stg_jira__issues') }}

),

transitions as (

    select * from {{ ref('stg_jira__status_transitions') }}

),

transition_times as (

    select
        issue_id,
        min(case when to_status_category = 'indeterminate' then transitioned_at end) as first_in_progress_at,
        max(case when to_status_category = 'done' then transitioned_at end) as last_done_at,
        count(*) as status_transitions
    from transitions
    group by issue_id

),

joined as (

    select
        issues.issue_id,
        issues.created_at,
        transition_times.first_in_progress_at as started_at,
        coalesce(
            issues.resolution_date,
            case when issues.status_category = 'done' then transition_times.last_done_at end
        ) as resolved_at,
        case
            when issues.resolution_date is not null then 'resolution_date'
            when issues.status_category = 'done' and transition_times.last_done_at is not null then 'done_transition'
        end as resolved_from,
        coalesce(transition_times.status_transitions, 0) as status_transitions
    from issues
    left join transition_times
        on transition_times.issue_id = issues.issue_id

),

raw_hours as (

    select
        *,
        {{ hours_between('created_at', 'resolved_at') }} as raw_lead_hours,
        {{ hours_between('started_at', 'resolved_at') }} as raw_cycle_hours
    from joined

),

final as (

    select

        ----------  ids
        issue_id,

        ----------  timestamps (UTC)
        created_at,
        started_at,
        resolved_at,

        ----------  durations (hours; null when missing or negative)
        case when raw_lead_hours >= 0 then raw_lead_hours end as lead_hours,
        case when raw_cycle_hours >= 0 then raw_cycle_hours end as cycle_hours,

        ----------  lineage and flags
        resolved_from,
        status_transitions,
        coalesce(raw_lead_hours < 0 or raw_cycle_hours < 0, false) as has_negative_duration

    from raw_hours

)

select * from final
