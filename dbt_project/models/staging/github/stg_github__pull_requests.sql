-- One row per GitHub pull request: the latest landed version of each PR (by _extracted_at).

with

source as (

    select * from {{ source('github', 'pull_requests') }}

),

latest as (

    {{ deduplicate('source', partition_by='id', order_by='_extracted_at desc, updated_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(['repository', 'number'], "'#'") }} as pull_request_id,
        cast(id as {{ dbt.type_bigint() }}) as pull_request_source_id,
        cast(repository as {{ dbt.type_string() }}) as repository_full_name,
        cast(number as {{ dbt.type_int() }}) as pull_request_number,
        cast(merge_commit_sha as {{ dbt.type_string() }}) as merge_commit_sha,

        ----------  text
        cast(title as {{ dbt.type_string() }}) as title,
        cast(state as {{ dbt.type_string() }}) as state,
        cast(author_login as {{ dbt.type_string() }}) as author_login,
        cast(author_type as {{ dbt.type_string() }}) as author_type,
        cast(head_ref as {{ dbt.type_string() }}) as head_branch,
        cast(base_ref as {{ dbt.type_string() }}) as base_branch,

        ----------  booleans
        cast(draft as {{ dbt.type_boolean() }}) as is_draft,

        ----------  numerics
        cast(additions as {{ dbt.type_int() }}) as additions,
        cast(deletions as {{ dbt.type_int() }}) as deletions,
        cast(changed_files as {{ dbt.type_int() }}) as changed_files,

        ----------  timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,
        cast(merged_at as {{ dbt.type_timestamp() }}) as merged_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
