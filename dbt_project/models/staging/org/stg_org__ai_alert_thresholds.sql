-- The alert thresholds of the configuration (`alerts`), always exactly one row: the latest landed row,
-- or DESIGN's defaults (developer-day $50, session $25) before any sync landed one. Its extracted_at
-- dates the configuration snapshot that stg_org__ai_budgets and stg_org__repo_paths keep.

with

source as (

    select * from {{ source('org', 'ai_alert_thresholds') }}

),

latest as (

    {{ deduplicate('source', partition_by='1', order_by='_extracted_at desc, _batch_id desc') }}

),

defaults as (

    select 1 as singleton

),

final as (

    select

        ----------  thresholds (USD)
        cast(coalesce(latest.developer_day_usd, 50.0) as {{ type_double() }}) as developer_day_usd,
        cast(coalesce(latest.session_usd, 25.0) as {{ type_double() }}) as session_usd,

        ----------  landing lineage
        cast(latest._extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from defaults
    left join latest
        on 1 = 1

)

select * from final
