{#
    A 64-bit float type. dbt.type_float() is 32-bit FLOAT on DuckDB, too coarse for costs and hours.
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'impact_warehouse')()) }}
{%- endmacro %}

{% macro duckdb__type_double() -%}double{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}
