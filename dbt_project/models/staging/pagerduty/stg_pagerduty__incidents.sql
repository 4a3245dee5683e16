-- One row per PagerDuty incident: the latest landed version (by _extracted_at, then updated_at).

with

source as (

    select * from {{ source('pagerduty', 'incidents') }}

),

latest as (

    {{ deduplicate('source', partition_by='id', order_by='_extracted_at desc, updated_at desc nulls last, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(["'pagerduty'", 'id'], "':'") }} as pagerduty_incident_id,
        cast(id as {{ dbt.type_string() }}) as incident_source_id,
        cast(incident_number as {{ dbt.type_bigint() }}) as incident_number,
        cast(service_id as {{ dbt.type_string() }}) as service_id,
        cast(linked_deployment_id as {{ dbt.type_bigint() }}) as linked_deployment_source_id,

        ----------  text
        cast(title as {{ dbt.type_string() }}) as title,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(urgency as {{ dbt.type_string() }}) as urgency,
        cast(priority as {{ dbt.type_string() }}) as priority,
        cast(service_name as {{ dbt.type_string() }}) as service_name,
        cast(html_url as {{ dbt.type_string() }}) as html_url,

        ----------  timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(acknowledged_at as {{ dbt.type_timestamp() }}) as acknowledged_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
