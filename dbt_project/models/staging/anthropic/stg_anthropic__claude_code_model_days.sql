-- One row per Claude Code actor, UTC day and model (the report's model breakdown): the latest landed version.

with

source as (

    select * from {{ source('anthropic', 'claude_code_model_days') }}

),

latest as (

    {{ deduplicate('source', partition_by='date, actor_type, actor_id, model', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(['actor_type', 'actor_id', 'date', 'model'], "'|'") }} as model_day_id,
        {{ md5_key(['actor_type', 'actor_id', 'date'], "'|'") }} as actor_day_id,
        cast(actor_type as {{ dbt.type_string() }}) as actor_type,
        cast(actor_id as {{ dbt.type_string() }}) as actor_id,

        ----------  text
        cast(model as {{ dbt.type_string() }}) as model,

        ----------  numerics
        cast(input_tokens as {{ dbt.type_bigint() }}) as input_tokens,
        cast(output_tokens as {{ dbt.type_bigint() }}) as output_tokens,
        cast(cache_read_tokens as {{ dbt.type_bigint() }}) as cache_read_tokens,
        cast(cache_creation_tokens as {{ dbt.type_bigint() }}) as cache_creation_tokens,
        cast(estimated_cost_usd as {{ type_double() }}) as cost_usd,

        ----------  dates (UTC day)
        cast(date as date) as activity_date,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
