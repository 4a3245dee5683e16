{#
    Incremental facts (fct_reviews, fct_ai_usage_daily) re-select only what may have changed since the
    last build, judged by landing time, not by the record's own dates (a late review of an old PR, a
    restated actor-day of last month):
      * rows whose source records were landed (extracted_at) after the newest extracted_at already in
        the table minus var('incremental_lookback_hours', default 72): the lookback catches batches
        that were extracted earlier but landed later (parallel extractions, retries);
      * every row when identity resolution changed (the team mapping, a learned e-mail): the
        fingerprint of int_developer_identities differs from the one stored in the table.
    The strategy is delete+insert on the fact's key, so a re-selected row replaces its old version.
#}

{% macro incremental_watermark(extracted_at_column='extracted_at') -%}
    (
        select {{ dbt.dateadd('hour', -1 * var('incremental_lookback_hours', 72),
                               'coalesce(max(' ~ extracted_at_column ~ "), cast('1900-01-01' as " ~ dbt.type_timestamp() ~ '))') }}
        from {{ this }}
    )
{%- endmacro %}

{# One text value per state of int_developer_identities: changes whenever any identity or its owner does. #}
{% macro identity_fingerprint_sql() -%}
    select
        md5(coalesce(
            {{ dbt.listagg(dbt.concat(['identity_id', "':'", 'developer_id']), "','", 'order by identity_id') }},
            ''
        )) as identity_fingerprint
    from {{ ref('int_developer_identities') }}
{%- endmacro %}

{% macro identity_changed(fingerprint_cte='identity_state') -%}
    coalesce(
        (select max(identity_fingerprint) from {{ this }})
            <> (select identity_fingerprint from {{ fingerprint_cte }}),
        true
    )
{%- endmacro %}
