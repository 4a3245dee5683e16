-- One row per commit of a pull request (repository, PR number, sha): the latest landed version.

with

source as (

    select * from {{ source('github', 'pull_request_commits') }}

),

latest as (

    {{ deduplicate('source', partition_by='repository, pull_number, sha', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(['repository', 'pull_number', 'sha'], "'|'") }} as pull_request_commit_id,
        {{ md5_key(['repository', 'pull_number'], "'#'") }} as pull_request_id,
        cast(repository as {{ dbt.type_string() }}) as repository_full_name,
        cast(pull_number as {{ dbt.type_int() }}) as pull_request_number,
        cast(sha as {{ dbt.type_string() }}) as commit_sha,

        ----------  text
        cast(author_login as {{ dbt.type_string() }}) as author_login,
        cast(author_email as {{ dbt.type_string() }}) as author_email,
        cast(message as {{ dbt.type_string() }}) as message,

        ----------  timestamps (UTC)
        cast(authored_at as {{ dbt.type_timestamp() }}) as authored_at,
        cast(committed_at as {{ dbt.type_timestamp() }}) as committed_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
