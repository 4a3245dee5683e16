{#
    dbt.listagg on Spark with its `order by` honoured (dbt-spark ignores it with a warning, so the list,
    and any md5 of it such as the identity fingerprint, would depend on Spark's partitioning): collect
    (sort keys..., value) structs, sort them, keep the values. Nulls are skipped by array_join as by
    string_agg. One direction for all sort keys (asc or desc), which is all the project needs.
#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set clause = order_by_clause | trim -%}
        {%- if clause[:8] | lower == 'order by' -%}
            {%- set clause = clause[8:] -%}
        {%- endif -%}
        {%- set keys = [] -%}
        {%- set directions = [] -%}
        {%- for part in clause.split(',') -%}
            {%- set words = part.strip().split(' ') -%}
            {%- if words | length > 1 and words[-1] | lower in ('asc', 'desc') -%}
                {%- do directions.append(words[-1] | lower) -%}
                {%- do keys.append(words[:-1] | join(' ')) -%}
            {%- else -%}
                {%- do directions.append('asc') -%}
                {%- do keys.append(part.strip()) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if directions | unique | list | length > 1 -%}
            {{ exceptions.raise_compiler_error("listagg on Spark: mixed sort directions are not supported: " ~ order_by_clause) }}
        {%- endif -%}
        {%- set fields = [] -%}
        {%- for key in keys -%}
            {%- do fields.append(key ~ ' as _k' ~ loop.index) -%}
        {%- endfor -%}
        {%- set sorted -%}
            array_sort(collect_list(struct({{ fields | join(', ') }}, {{ measure }} as _v)))
        {%- endset -%}
        {%- if directions[0] == 'desc' -%}
            {%- set sorted = 'reverse(' ~ sorted ~ ')' -%}
        {%- endif -%}
        {%- set collected = 'transform(' ~ sorted ~ ', _s -> _s._v)' -%}
    {%- else -%}
        {%- set collected = 'collect_list(' ~ measure ~ ')' -%}
    {%- endif -%}
    {%- if limit_num -%}
        {%- set collected = 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' -%}
    {%- endif -%}
    array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}
