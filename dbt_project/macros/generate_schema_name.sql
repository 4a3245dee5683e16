{#
    Exact schema names: a model configured with `schema: marts` lands in `marts`, not in
    `<target schema>_marts` as dbt's default would have it. Models without a custom schema use the
    target's schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
