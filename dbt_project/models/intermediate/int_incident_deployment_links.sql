-- Which deployment caused each incident (DESIGN section 5, change failure rate), one row per outage
-- (int_incidents has merged the reports of one outage, so an outage reported twice blames once):
--   1. explicit: the deployment the incident names (linked_deployment_id of PagerDuty, GitHub issue or
--      Jira), when that deployment is known; an unknown id falls through to rule 2;
--   2. the most recent successful production deployment of the incident's repository that finished
--      (deployed_at) before the incident was created, and at most var incident_link_window_hours hours
--      before it (default 24, from incidents.link_window_hours): link_rule `window`.
--      With the window switched off (`off`), any earlier one counts, which is Apache DevLake's rule
--      (connect_incident_to_deployment): link_rule `latest_before`.
-- Otherwise link_rule says why there is none: `no_repository` (the incident's repository is unknown)
-- or `no_deployment` (no successful production deployment qualifies).
{%- set window_hours = incident_link_window_hours() %}
-- Window in force for this build: {{ 'off' if window_hours is none else window_hours ~ ' hours' }}.

with

incidents as (

    select * from {{ ref('int_incidents') }}

),

deployments as (

    select * from {{ ref('int_deployments') }}

),

explicit_links as (

    select
        incidents.incident_id,
        deployments.deployment_id
    from incidents
    inner join deployments
        on deployments.deployment_source_id = incidents.linked_deployment_source_id

),

production_deployments as (

    select deployment_id, deployment_source_id, repository_id, deployed_at
    from deployments
    where is_production and is_successful

),

candidates as (

    select
        incidents.incident_id,
        production_deployments.deployment_id,
        row_number() over (
            partition by incidents.incident_id
            order by production_deployments.deployed_at desc, production_deployments.deployment_source_id desc
        ) as recency_rank
    from incidents
    inner join production_deployments
        on production_deployments.repository_id = incidents.repository_id
        and production_deployments.deployed_at < incidents.created_at
    {%- if window_hours is not none %}
        and {{ hours_between('production_deployments.deployed_at', 'incidents.created_at') }} <= {{ window_hours }}
    {%- endif %}

),

rule_links as (

    select incident_id, deployment_id
    from candidates
    where recency_rank = 1

),

final as (

    select

        ----------  ids
        incidents.incident_id,
        coalesce(explicit_links.deployment_id, rule_links.deployment_id) as caused_by_deployment_id,

        ----------  how
        case
            when explicit_links.deployment_id is not null then 'explicit'
            when rule_links.deployment_id is not null then '{{ "latest_before" if window_hours is none else "window" }}'
            when incidents.repository_id is null then 'no_repository'
            else 'no_deployment'
        end as link_rule,
        cast({{ 'null' if window_hours is none else window_hours }} as {{ type_double() }}) as link_window_hours

    from incidents
    left join explicit_links
        on explicit_links.incident_id = incidents.incident_id
    left join rule_links
        on rule_links.incident_id = incidents.incident_id

)

select * from final
