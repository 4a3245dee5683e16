{#
    Monday of the ISO week holding a date or timestamp, as a date. DuckDB and PostgreSQL both truncate
    'week' to Monday.
#}
{% macro week_start(expression) -%}
    cast({{ dbt.date_trunc('week', expression) }} as date)
{%- endmacro %}
