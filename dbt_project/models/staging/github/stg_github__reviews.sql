-- One row per GitHub pull request review (pending ones included): the latest landed version.

with

source as (

    select * from {{ source('github', 'reviews') }}

),

latest as (

    {{ deduplicate('source', partition_by='id', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as {{ dbt.type_bigint() }}) as review_source_id,
        {{ md5_key(['repository', 'pull_number'], "'#'") }} as pull_request_id,
        cast(repository as {{ dbt.type_string() }}) as repository_full_name,
        cast(pull_number as {{ dbt.type_int() }}) as pull_request_number,

        ----------  text
        cast(reviewer_login as {{ dbt.type_string() }}) as reviewer_login,
        cast(state as {{ dbt.type_string() }}) as state,

        ----------  timestamps (UTC)
        cast(submitted_at as {{ dbt.type_timestamp() }}) as submitted_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
