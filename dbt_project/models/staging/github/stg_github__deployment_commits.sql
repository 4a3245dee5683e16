-- One row per (deployment, commit) a successful deployment shipped: the latest landed version.

with

source as (

    select * from {{ source('github', 'deployment_commits') }}

),

latest as (

    {{ deduplicate('source', partition_by='deployment_id, sha', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(["'github'", 'deployment_id', 'sha'], "':'") }} as deployment_commit_id,
        {{ md5_key(["'github'", 'deployment_id'], "':'") }} as deployment_id,
        cast(deployment_id as {{ dbt.type_bigint() }}) as deployment_source_id,
        {{ md5_key(["'github'", 'previous_deployment_id'], "':'") }} as previous_deployment_id,
        cast(previous_deployment_id as {{ dbt.type_bigint() }}) as previous_deployment_source_id,
        cast(repository as {{ dbt.type_string() }}) as repository_full_name,
        cast(sha as {{ dbt.type_string() }}) as commit_sha,

        ----------  text
        cast(environment as {{ dbt.type_string() }}) as environment,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
