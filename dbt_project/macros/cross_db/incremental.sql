{#
    The materialization of the incremental facts: `incremental` (delete+insert on the fact's key), except
    on Spark, whose Parquet tables know no delete+insert (dbt-spark offers append, insert_overwrite and
    merge, and merge needs Delta or Iceberg): there the fact is rebuilt as a table on every run, which
    gives the same rows. is_incremental() is then false, so the incremental filters never apply.
    Databricks (Delta) is treated alike until the facts get a merge strategy there.
#}
{% macro incremental_materialization() -%}
    {{ return('table' if target.type in ('spark', 'databricks') else 'incremental') }}
{%- endmacro %}
