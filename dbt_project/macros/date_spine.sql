{#
    One row per day (`date_day`, a date) from start_date to end_date inclusive, where both are SQL
    expressions evaluated in a `from <bounds_relation>` with one row. generate_series as a lateral
    table function exists in DuckDB and PostgreSQL alike; Spark's is in macros/cross_db/date_spine.sql.
#}
{% macro date_spine(bounds_relation, start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'impact_warehouse')(bounds_relation, start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(bounds_relation, start_date, end_date) -%}
    select cast(series.day_ts as date) as date_day
    from {{ bounds_relation }}
    cross join lateral generate_series(
        cast({{ start_date }} as {{ dbt.type_timestamp() }}),
        cast({{ end_date }} as {{ dbt.type_timestamp() }}),
        interval '1 day'
    ) as series(day_ts)
{%- endmacro %}
