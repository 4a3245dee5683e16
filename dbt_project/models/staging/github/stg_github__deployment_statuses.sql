-- One row per status change of a GitHub deployment: the latest landed version.

with

source as (

    select * from {{ source('github', 'deployment_statuses') }}

),

latest as (

    {{ deduplicate('source', partition_by='id', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as {{ dbt.type_bigint() }}) as deployment_status_source_id,
        {{ md5_key(["'github'", 'deployment_id'], "':'") }} as deployment_id,
        cast(deployment_id as {{ dbt.type_bigint() }}) as deployment_source_id,
        cast(repository as {{ dbt.type_string() }}) as repository_full_name,

        ----------  text
        cast(state as {{ dbt.type_string() }}) as state,

        ----------  timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
