{#
    Change detection for the incremental facts whose rows depend on other rows (fct_deployments) or on
    derived state that moves without any landing of the row's own records (identity resolution in
    fct_issues). Landing time (macros/incremental_filters.sql) finds the rows whose own records changed;
    these macros find the rest by comparing the value a row would get now with the value stored in the
    table ({{ this }}), so that a build rewrites exactly the rows whose value changed, whatever changed it
    (a late record of another row, a configuration setting, a learned identity).
#}

{# True when two values differ, a null equal to a null only (IS DISTINCT FROM, written portably). #}
{% macro values_differ(left, right) -%}
    (not coalesce({{ left }} = {{ right }}, {{ left }} is null and {{ right }} is null))
{%- endmacro %}

{#
    True when any of the named columns differs between two relations (aliases) of the same row:
    `computed` (as this build computes it) and `stored` (as the table has it).
#}
{% macro any_value_differs(columns, computed='computed', stored='stored') -%}
    (
    {%- for column in columns %}
        {{ values_differ(computed ~ '.' ~ column, stored ~ '.' ~ column) }}{% if not loop.last %} or{% endif %}
    {%- endfor %}
    )
{%- endmacro %}
