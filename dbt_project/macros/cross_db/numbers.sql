{#
    Spark versions of the project's numeric helpers (macros/type_double.sql, macros/hours_between.sql).
#}

{# Spark's 64-bit float is DOUBLE; it does not know `double precision`. #}
{% macro spark__type_double() -%}double{%- endmacro %}

{#
    Spark: integer microseconds since the epoch (unix_micros, exact for the naive UTC landing times
    under the UTC session time zone), then one double division, as on DuckDB: the same bits.
#}
{% macro spark__hours_between(start_ts, end_ts) -%}
    (cast(unix_micros(cast({{ end_ts }} as timestamp)) - unix_micros(cast({{ start_ts }} as timestamp)) as double)
        / cast(3600000000 as double))
{%- endmacro %}
