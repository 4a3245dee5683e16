{#
    The incident settings of impact.yaml, as impact.warehouse.dbt_environment hands them to dbt:
      incidents.link_window_hours       -> env IMPACT_INCIDENT_LINK_WINDOW_HOURS (a number, or `off`)
      pagerduty.service_repositories    -> env IMPACT_PAGERDUTY_SERVICE_REPOSITORIES (a JSON object
                                           {"service name": "owner/repo"})
      incidents.duplicate_window_minutes -> env IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES (read by
                                           int_incident_duplicates)
    A dbt var of the same name (`--vars '{incident_link_window_hours: off}'`) wins over the environment.
#}

{# The window in hours as a number, or none when switched off (DevLake's rule: the latest deployment before). #}
{% macro incident_link_window_hours() -%}
    {%- set value = var('incident_link_window_hours', env_var('IMPACT_INCIDENT_LINK_WINDOW_HOURS', '24')) -%}
    {%- if value is none or (value | string | trim | lower) in ('', 'off', 'none', 'null', 'false') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set hours = value | float(-1) -%}
    {%- if hours < 0 -%}
        {{ exceptions.raise_compiler_error(
            "incidents.link_window_hours (IMPACT_INCIDENT_LINK_WINDOW_HOURS / var incident_link_window_hours) must be "
            ~ "a number of hours >= 0 or `off`; got: " ~ value) }}
    {%- endif -%}
    {{ return(hours) }}
{%- endmacro %}

{#
    A relation-like subquery of (service_name, repository_full_name) pairs from the configured mapping;
    with no mapping, an empty one with the same columns.
#}
{% macro pagerduty_service_repositories() -%}
    {%- set configured = var('pagerduty_service_repositories', none) -%}
    {%- if configured is none -%}
        {%- set configured = env_var('IMPACT_PAGERDUTY_SERVICE_REPOSITORIES', '{}') -%}
    {%- endif -%}
    {%- if configured is string -%}
        {%- set text = configured -%}
        {%- set configured = fromjson(text) if text | trim else {} -%}
        {%- if configured is not mapping -%}
            {{ exceptions.raise_compiler_error(
                "pagerduty.service_repositories (IMPACT_PAGERDUTY_SERVICE_REPOSITORIES / var pagerduty_service_repositories) "
                ~ "must be a JSON object of service name -> owner/repo, e.g. {\"checkout\": \"my-org/checkout-service\"}; got: "
                ~ text[:200]) }}
        {%- endif -%}
    {%- endif -%}
    {%- if configured -%}
        {%- for service, repository in configured.items() %}
    select
        cast('{{ service | replace("'", "''") }}' as {{ dbt.type_string() }}) as service_name,
        cast('{{ repository | replace("'", "''") }}' as {{ dbt.type_string() }}) as repository_full_name
    {% if not loop.last %}union all{% endif %}
        {%- endfor -%}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as service_name,
        cast(null as {{ dbt.type_string() }}) as repository_full_name
    where 1 = 0
    {%- endif -%}
{%- endmacro %}
