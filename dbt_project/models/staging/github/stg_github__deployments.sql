-- One row per GitHub deployment (every environment): the latest landed version.

with

source as (

    select * from {{ source('github', 'deployments') }}

),

latest as (

    {{ deduplicate('source', partition_by='id', order_by='_extracted_at desc, updated_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(["'github'", 'id'], "':'") }} as deployment_id,
        cast(id as {{ dbt.type_bigint() }}) as deployment_source_id,
        cast(repository as {{ dbt.type_string() }}) as repository_full_name,
        cast(sha as {{ dbt.type_string() }}) as commit_sha,

        ----------  text
        cast(ref as {{ dbt.type_string() }}) as ref,
        cast(environment as {{ dbt.type_string() }}) as environment,
        cast(creator_login as {{ dbt.type_string() }}) as creator_login,

        ----------  timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
