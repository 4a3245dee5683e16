{#
    Hours from `start_ts` to `end_ts` as a double (negative when end is before start, null when either
    is null): the epoch-seconds difference divided by 3600.
#}
{% macro hours_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('hours_between', 'impact_warehouse')(start_ts, end_ts)) }}
{%- endmacro %}

{# DuckDB: integer microseconds since the epoch, so the difference is exact before the one division. #}
{% macro duckdb__hours_between(start_ts, end_ts) -%}
    cast((epoch_us({{ end_ts }}) - epoch_us({{ start_ts }})) / 3600000000.0 as {{ type_double() }})
{%- endmacro %}

{# PostgreSQL and most others: epoch seconds of the interval. #}
{% macro default__hours_between(start_ts, end_ts) -%}
    cast(extract(epoch from ({{ end_ts }}) - ({{ start_ts }})) / 3600.0 as {{ type_double() }})
{%- endmacro %}
