-- One outage reported in two tools counts once. Real teams page in PagerDuty and then someone opens a
-- Jira incident ticket or a GitHub incident issue for the same outage; counting both doubles incident
-- counts, skews MTTR and blames two deployments. One row per GitHub / Jira incident report that
-- duplicates a PagerDuty incident (the primary: the page is the outage's first, timed record):
--   1. `reference`: the report pastes the PagerDuty incident's link (referenced_pagerduty_incident_id,
--      see connectors.incident_refs) and that incident is known;
--   2. `time_window`: else a PagerDuty incident of the same resolved repository created at most
--      incidents.duplicate_window_minutes (default 60; env IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES, or
--      var incident_duplicate_window_minutes) minutes before or after the report; the
--      nearest one wins (ties: the earlier page, then the smaller id).
-- A report merges into at most one PagerDuty incident; a PagerDuty incident may absorb several reports.
-- Reports that match nothing are incidents of their own (int_incidents). Merged-away reports are kept
-- here with their own times, never dropped silently.
{%- set window_minutes = var('incident_duplicate_window_minutes', env_var('IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES', '60')) | float %}
-- Window in force for this build: {{ window_minutes }} minutes.

with

reports as (

    select * from {{ ref('int_incident_reports') }}

),

pages as (

    select incident_id, source_id, repository_id, created_at
    from reports
    where source = 'pagerduty'

),

issues as (

    select *
    from reports
    where source in ('github', 'jira')

),

by_reference as (

    select
        issues.incident_id as duplicate_incident_id,
        pages.incident_id,
        'reference' as match_rule
    from issues
    inner join pages
        on pages.source_id = issues.referenced_pagerduty_incident_id

),

window_candidates as (

    select
        issues.incident_id as duplicate_incident_id,
        pages.incident_id,
        row_number() over (
            partition by issues.incident_id
            order by
                abs({{ hours_between('pages.created_at', 'issues.created_at') }}),
                pages.created_at,
                pages.incident_id
        ) as nearness_rank
    from issues
    inner join pages
        on pages.repository_id = issues.repository_id
        and abs({{ hours_between('pages.created_at', 'issues.created_at') }}) * 60 <= {{ window_minutes }}
    left join by_reference
        on by_reference.duplicate_incident_id = issues.incident_id
    where by_reference.duplicate_incident_id is null

),

matched as (

    select duplicate_incident_id, incident_id, match_rule from by_reference

    union all

    select duplicate_incident_id, incident_id, 'time_window' as match_rule
    from window_candidates
    where nearness_rank = 1

),

final as (

    select

        ----------  ids
        matched.duplicate_incident_id,
        matched.incident_id,
        issues.source,
        issues.source_id,
        issues.source_key,
        issues.repository_id,
        pages.source_id as pagerduty_source_id,
        issues.linked_deployment_source_id,

        ----------  how
        matched.match_rule,
        cast({{ hours_between('pages.created_at', 'issues.created_at') }} * 60 as {{ type_double() }}) as minutes_from_page,
        cast({{ window_minutes }} as {{ type_double() }}) as window_minutes,

        ----------  text
        issues.title,
        issues.repository_full_name,
        issues.status,

        ----------  timestamps (UTC)
        issues.created_at,
        issues.resolved_at,

        ----------  landing lineage
        issues.extracted_at

    from matched
    inner join issues
        on issues.incident_id = matched.duplicate_incident_id
    inner join pages
        on pages.incident_id = matched.incident_id

)

select * from final
