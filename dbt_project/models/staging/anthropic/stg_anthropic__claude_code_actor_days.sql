-- One row per Claude Code actor and UTC day (Admin API analytics report): the latest landed version.

with

source as (

    select * from {{ source('anthropic', 'claude_code_actor_days') }}

),

latest as (

    {{ deduplicate('source', partition_by='date, actor_type, actor_id', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(['actor_type', 'actor_id', 'date'], "'|'") }} as actor_day_id,
        cast(actor_type as {{ dbt.type_string() }}) as actor_type,
        cast(actor_id as {{ dbt.type_string() }}) as actor_id,
        cast(organization_id as {{ dbt.type_string() }}) as organization_id,

        ----------  text
        cast(customer_type as {{ dbt.type_string() }}) as customer_type,
        cast(terminal_type as {{ dbt.type_string() }}) as terminal_type,

        ----------  numerics
        cast(num_sessions as {{ dbt.type_int() }}) as sessions,
        cast(lines_added as {{ dbt.type_int() }}) as lines_added,
        cast(lines_removed as {{ dbt.type_int() }}) as lines_removed,
        cast(commits as {{ dbt.type_int() }}) as commits,
        cast(pull_requests as {{ dbt.type_int() }}) as pull_requests,
        cast(edits_accepted as {{ dbt.type_int() }}) as edits_accepted,
        cast(edits_rejected as {{ dbt.type_int() }}) as edits_rejected,

        ----------  dates (UTC day)
        cast(date as date) as activity_date,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
