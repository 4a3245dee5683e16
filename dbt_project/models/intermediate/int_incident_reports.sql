-- One normalised incident report per source record: PagerDuty incidents, GitHub issues carrying an
-- incident label, and Jira issues of an incident type (is_incident). One outage reported in two tools is
-- two reports here; int_incident_duplicates pairs them and int_incidents keeps one row per outage.
-- Repository resolution:
--   * GitHub issue: the issue's repository;
--   * PagerDuty: pagerduty.service_repositories (service name -> owner/name) first, else the service
--     name equal (ignoring case) to exactly one repository's name or full name;
--   * Jira: a component equal (ignoring case) to exactly one repository's name or full name; when the
--     components name several repositories, none (ambiguous). Jira projects carry no repository.
-- Unresolved reports keep repository_id null: they count for MTTR but cannot blame a deployment, and
-- can only be paired with a PagerDuty incident through the link they paste.
-- Severity: PagerDuty priority else urgency; Jira priority; GitHub a label sev0..sev4 or p0..p4.

with

pagerduty as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

github_issues as (

    select * from {{ ref('stg_github__incident_issues') }}

),

jira_issues as (

    select * from {{ ref('stg_jira__issues') }}

),

jira_times as (

    select * from {{ ref('int_jira_issue_times') }}

),

repositories as (

    select * from {{ ref('int_repositories') }}

),

service_map as (

    {{ pagerduty_service_repositories() }}

),

-- a lookup name (short name when unique, and always the full name) -> repository
repository_names as (

    select repository_name as lookup_name, repository_full_name
    from repositories
    where is_name_unique

    union

    select lower(repository_full_name) as lookup_name, repository_full_name
    from repositories

),

pagerduty_repositories as (

    select
        pagerduty.pagerduty_incident_id,
        coalesce(service_map.repository_full_name, repository_names.repository_full_name) as repository_full_name
    from pagerduty
    left join service_map
        on service_map.service_name = pagerduty.service_name
    left join repository_names
        on repository_names.lookup_name = lower(pagerduty.service_name)

),

jira_incidents as (

    select * from jira_issues where is_incident

),

-- components: at most the first 10 of the comma-joined list are read
{% set max_components = 10 %}
jira_components as (

    {% for position in range(1, max_components + 1) %}
    select
        issue_id,
        lower(trim({{ dbt.split_part('components', "','", position) }})) as component
    from jira_incidents
    where components is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

jira_repositories as (

    select
        jira_components.issue_id,
        min(repository_names.repository_full_name) as repository_full_name
    from jira_components
    inner join repository_names
        on repository_names.lookup_name = jira_components.component
    where jira_components.component <> ''
    group by jira_components.issue_id
    having count(distinct repository_names.repository_full_name) = 1

),

unioned as (

    select
        pagerduty.pagerduty_incident_id as incident_id,
        'pagerduty' as source,
        pagerduty.incident_source_id as source_id,
        cast(pagerduty.incident_number as {{ dbt.type_string() }}) as source_key,
        pagerduty.title,
        pagerduty.service_name as service,
        pagerduty_repositories.repository_full_name,
        pagerduty.status,
        coalesce(pagerduty.priority, pagerduty.urgency) as severity,
        pagerduty.created_at,
        pagerduty.resolved_at,
        pagerduty.linked_deployment_source_id,
        cast(null as {{ dbt.type_string() }}) as referenced_pagerduty_incident_id,
        pagerduty.extracted_at
    from pagerduty
    left join pagerduty_repositories
        on pagerduty_repositories.pagerduty_incident_id = pagerduty.pagerduty_incident_id

    union all

    select
        incident_issue_id as incident_id,
        'github' as source,
        cast(issue_source_id as {{ dbt.type_string() }}) as source_id,
        cast(issue_number as {{ dbt.type_string() }}) as source_key,
        title,
        repository_full_name as service,
        repository_full_name,
        state as status,
        case
            {% for level in ['sev0', 'sev1', 'sev2', 'sev3', 'sev4', 'p0', 'p1', 'p2', 'p3', 'p4'] %}
            when {{ dbt.concat(["','", "lower(labels)", "','"]) }} like '%,{{ level }},%' then '{{ level }}'
            {% endfor %}
        end as severity,
        created_at,
        case when state = 'closed' then closed_at end as resolved_at,
        linked_deployment_source_id,
        referenced_pagerduty_incident_id,
        extracted_at
    from github_issues

    union all

    select
        jira_incidents.issue_id as incident_id,
        'jira' as source,
        jira_incidents.issue_source_id as source_id,
        jira_incidents.issue_key as source_key,
        jira_incidents.summary as title,
        jira_incidents.project_key as service,
        jira_repositories.repository_full_name,
        jira_incidents.status,
        jira_incidents.priority as severity,
        jira_incidents.created_at,
        jira_times.resolved_at,
        jira_incidents.linked_deployment_source_id,
        jira_incidents.referenced_pagerduty_incident_id,
        jira_incidents.extracted_at
    from jira_incidents
    left join jira_times
        on jira_times.issue_id = jira_incidents.issue_id
    left join jira_repositories
        on jira_repositories.issue_id = jira_incidents.issue_id

),

final as (

    select

        ----------  ids
        incident_id,
        source,
        source_id,
        source_key,
        case
            when repository_full_name is not null then {{ md5_key(['repository_full_name'], "''") }}
        end as repository_id,
        linked_deployment_source_id,
        referenced_pagerduty_incident_id,

        ----------  text
        title,
        service,
        repository_full_name,
        status,
        severity,

        ----------  timestamps (UTC)
        created_at,
        resolved_at,

        ----------  landing lineage
        extracted_at

    from unioned

)

select * from final
