{#
    Spark versions of dbt's dateadd and datediff, found before dbt-spark's own because dbt searches the
    root project first for macros of the `dbt` namespace. dbt-spark's versions go through
    to_unix_timestamp (whole seconds: a transcript's milliseconds are lost) and assert_not_null (a null
    date, e.g. a developer who never adopted, raises instead of giving null as on DuckDB and PostgreSQL).
#}

{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- if datepart | lower not in ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second', 'millisecond', 'microsecond'] -%}
        {{ exceptions.raise_compiler_error("dateadd: datepart '" ~ datepart ~ "' is not supported on Spark") }}
    {%- endif -%}
    timestampadd({{ datepart | upper }}, {{ interval }}, cast({{ from_date_or_timestamp }} as timestamp))
{%- endmacro %}

{#
    Boundaries crossed from first to second, as DuckDB's date_diff and dbt's other adapters count them:
    days between the dates (not 24-hour periods), months between the month starts; hours and smaller
    between the truncated timestamps.
#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set part = datepart | lower -%}
    {%- if part == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif part == 'week' -%}
        cast(datediff(date_trunc('week', cast({{ second_date }} as timestamp)), date_trunc('week', cast({{ first_date }} as timestamp))) / 7 as bigint)
    {%- elif part in ['month', 'quarter', 'year'] -%}
        {%- set months -%}
            ((year(cast({{ second_date }} as date)) - year(cast({{ first_date }} as date))) * 12
             + month(cast({{ second_date }} as date)) - month(cast({{ first_date }} as date)))
        {%- endset -%}
        {%- if part == 'month' -%}
            {{ months }}
        {%- elif part == 'quarter' -%}
            ((year(cast({{ second_date }} as date)) - year(cast({{ first_date }} as date))) * 4
             + quarter(cast({{ second_date }} as date)) - quarter(cast({{ first_date }} as date)))
        {%- else -%}
            (year(cast({{ second_date }} as date)) - year(cast({{ first_date }} as date)))
        {%- endif -%}
    {%- elif part in ['hour', 'minute', 'second'] -%}
        timestampdiff({{ part | upper }}, date_trunc('{{ part }}', cast({{ first_date }} as timestamp)), date_trunc('{{ part }}', cast({{ second_date }} as timestamp)))
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff: datepart '" ~ datepart ~ "' is not supported on Spark") }}
    {%- endif -%}
{%- endmacro %}
