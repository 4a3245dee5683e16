{#
    Keep one row per `partition_by` key from a CTE or relation: the first by `order_by`.
    Staging uses it to keep the latest landed version of each natural key
    (order_by = '_extracted_at desc, ...'), since several raw batches can hold the same record.
    Written with row_number() in a subquery (no QUALIFY) so that it runs on PostgreSQL too.
#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    select *
    from (
        select
            _candidates.*,
            row_number() over (
                partition by {{ partition_by }}
                order by {{ order_by }}
            ) as _dedup_row_number
        from {{ relation }} as _candidates
    ) as _ranked
    where _dedup_row_number = 1
{%- endmacro %}
