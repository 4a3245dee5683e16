{#
    Spark has no generate_series table function: explode a sequence of dates instead. The result still
    ends in `from <bounds_relation>`, so a caller's `where` can follow as on the other engines, and a
    start after the end gives no rows (Spark's sequence would raise) like generate_series.
#}
{% macro spark__date_spine(bounds_relation, start_date, end_date) -%}
    select explode(
        case
            when cast({{ start_date }} as date) <= cast({{ end_date }} as date)
                then sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)
        end
    ) as date_day
    from {{ bounds_relation }}
{%- endmacro %}
