-- Production incidents from every configured source, one row per outage (DESIGN section 4): a GitHub /
-- Jira report of an outage PagerDuty paged is merged into the PagerDuty incident (int_incidents,
-- int_incident_duplicates; duplicate_count and also_reported_in say so), with time to restore and the
-- deployment that caused it (int_incident_deployment_links: explicit link, else the
-- latest successful production deployment of the same repository within the window, or before it with
-- the window off, which is Apache DevLake's rule).

with

incidents as (

    select * from {{ ref('int_incidents') }}

),

links as (

    select * from {{ ref('int_incident_deployment_links') }}

),

final as (

    select

        ----------  ids
        incidents.incident_id,
        incidents.source,
        incidents.source_id,
        incidents.source_key,
        incidents.repository_id,
        links.caused_by_deployment_id,

        ----------  text
        incidents.title,
        incidents.service,
        incidents.repository_full_name,
        incidents.status,
        incidents.severity,
        links.link_rule,
        incidents.also_reported_in,

        ----------  counts
        incidents.duplicate_count,

        ----------  timestamps (UTC)
        incidents.created_at,
        incidents.resolved_at,

        ----------  durations (hours)
        case
            when {{ hours_between('incidents.created_at', 'incidents.resolved_at') }} >= 0
                then {{ hours_between('incidents.created_at', 'incidents.resolved_at') }}
        end as restore_hours,

        ----------  flags
        incidents.resolved_at is not null as is_resolved,
        coalesce({{ hours_between('incidents.created_at', 'incidents.resolved_at') }} < 0, false) as has_negative_duration

    from incidents
    inner join links
        on links.incident_id = incidents.incident_id

)

select * from final
