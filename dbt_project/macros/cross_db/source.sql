{#
    source() for every adapter. DuckDB resolves a source to its `meta.external_location` (a
    read_parquet over the landing) and PostgreSQL to the `raw` table impact.postgres_loader filled, both
    through dbt's own source(). Spark reads the Parquet landing where it lies, without a copy step: the
    relation becomes parquet.`<IMPACT_RAW_DIR>/<source>/<table>`, the folder impact.landing writes each
    entity's batches to (<source>__<table> in the sources' identifiers), with the batches' columns merged
    by name (spark.sql.parquet.mergeSchema in the profile, like DuckDB's union_by_name).
    builtins.source is still called first, so dbt records the dependency (lineage, Dagster's asset keys).
#}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {{ return(adapter.dispatch('raw_source', 'impact_warehouse')(relation, source_name, table_name)) }}
{%- endmacro %}

{% macro default__raw_source(relation, source_name, table_name) -%}
    {{ return(relation) }}
{%- endmacro %}

{% macro spark__raw_source(relation, source_name, table_name) -%}
    {%- set folder = env_var('IMPACT_RAW_DIR', 'warehouse/raw') ~ '/' ~ source_name ~ '/' ~ table_name -%}
    {{ return('parquet.`' ~ folder ~ '`') }}
{%- endmacro %}
