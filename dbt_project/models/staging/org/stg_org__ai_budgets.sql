-- Monthly AI budgets of the configuration (`budgets.teams / roles / people`): the ones landed with the
-- latest configuration snapshot (stg_org__ai_alert_thresholds.extracted_at), so a budget removed from
-- the config disappears. One row per (scope_kind, scope); the last landed value wins on a duplicate.

with

source as (

    select * from {{ source('org', 'ai_budgets') }}

),

snapshot as (

    select extracted_at from {{ ref('stg_org__ai_alert_thresholds') }}

),

current_budgets as (

    select source.*
    from source
    inner join snapshot
        on source._extracted_at = snapshot.extracted_at

),

latest as (

    {{ deduplicate('current_budgets', partition_by='scope_kind, lower(scope)', order_by='_batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(['scope_kind', 'lower(scope)'], "':'") }} as budget_id,

        ----------  scope
        cast(scope_kind as {{ dbt.type_string() }}) as scope_kind,
        cast(scope as {{ dbt.type_string() }}) as scope,

        ----------  numerics
        cast(monthly_usd as {{ type_double() }}) as monthly_budget_usd,

        ----------  landing lineage
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
