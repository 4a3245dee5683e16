-- One production incident per outage. The reports (int_incident_reports: PagerDuty incidents, GitHub
-- issues carrying an incident label, Jira issues of an incident type, with their resolved repository)
-- minus the GitHub / Jira reports that duplicate a PagerDuty incident (int_incident_duplicates: the
-- pasted PagerDuty link, else the same repository within var incident_duplicate_window_minutes). The
-- PagerDuty incident is the outage's primary record: its ids, title, service, status and severity. Of
-- the merged reports it takes:
--   * created_at: the earliest report's (someone may open the issue before the page fires);
--   * resolved_at: null while the PagerDuty incident is open; else the latest resolution among the
--     reports. Why the latest: PagerDuty often resolves when the alert clears, while the team keeps the
--     ticket open until the service is confirmed restored; a report still open after the page resolved
--     (a ticket kept for the postmortem) does not hold the outage open, and one closed while the page
--     is still open does not close it;
--   * linked_deployment_source_id: the page's explicit deployment link, else one a report names;
--   * duplicate_count and also_reported_in (github, jira, or github,jira): what was merged.
-- Merged-away reports stay visible in int_incident_duplicates.

with

reports as (

    select * from {{ ref('int_incident_reports') }}

),

duplicates as (

    select * from {{ ref('int_incident_duplicates') }}

),

merged as (

    select
        incident_id,
        count(*) as duplicate_count,
        min(created_at) as first_duplicate_created_at,
        max(resolved_at) as last_duplicate_resolved_at,
        min(linked_deployment_source_id) as duplicate_linked_deployment_source_id,
        sum(case when source = 'github' then 1 else 0 end) as github_reports,
        sum(case when source = 'jira' then 1 else 0 end) as jira_reports,
        max(extracted_at) as last_duplicate_extracted_at
    from duplicates
    group by incident_id

),

outages as (

    select reports.*
    from reports
    left join duplicates
        on duplicates.duplicate_incident_id = reports.incident_id
    where duplicates.duplicate_incident_id is null

),

final as (

    select

        ----------  ids
        outages.incident_id,
        outages.source,
        outages.source_id,
        outages.source_key,
        outages.repository_id,
        coalesce(outages.linked_deployment_source_id, merged.duplicate_linked_deployment_source_id)
            as linked_deployment_source_id,

        ----------  text
        outages.title,
        outages.service,
        outages.repository_full_name,
        outages.status,
        outages.severity,
        case
            when merged.github_reports > 0 and merged.jira_reports > 0 then 'github,jira'
            when merged.github_reports > 0 then 'github'
            when merged.jira_reports > 0 then 'jira'
        end as also_reported_in,

        ----------  counts
        coalesce(merged.duplicate_count, 0) as duplicate_count,

        ----------  timestamps (UTC)
        case
            when merged.first_duplicate_created_at < outages.created_at then merged.first_duplicate_created_at
            else outages.created_at
        end as created_at,
        case
            when outages.resolved_at is null then null
            when merged.last_duplicate_resolved_at > outages.resolved_at then merged.last_duplicate_resolved_at
            else outages.resolved_at
        end as resolved_at,

        ----------  landing lineage: the newest landing among the outage's reports
        case
            when merged.last_duplicate_extracted_at > outages.extracted_at then merged.last_duplicate_extracted_at
            else outages.extracted_at
        end as extracted_at

    from outages
    left join merged
        on merged.incident_id = outages.incident_id

)

select * from final
