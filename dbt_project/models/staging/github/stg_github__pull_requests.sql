-- One row per GitHub pull request: the latest landed version of each PR (by _extracted_at).
-- ready_for_review_at is the earliest over every landed version: an incremental REST sync reads issue
-- events only back to its cursor, so a later version of a PR can lack the event an earlier one had.

with

source as (

    select * from {{ source('github', 'pull_requests') }}

),

latest as (

    {{ deduplicate('source', partition_by='id', order_by='_extracted_at desc, updated_at desc, _batch_id desc') }}

),

ready_times as (

    select
        id as ready_id,
        min(ready_for_review_at) as first_ready_for_review_at
    from source
    group by id

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
        -- a GitHub App account (dependabot[bot], renovate[bot]): REST says type Bot and appends [bot]
        coalesce(author_type = 'Bot' or lower(author_login) like '%[bot]', false) as is_bot,

        ----------  numerics
        cast(additions as {{ dbt.type_int() }}) as additions,
        cast(deletions as {{ dbt.type_int() }}) as deletions,
        cast(changed_files as {{ dbt.type_int() }}) as changed_files,

        ----------  timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,
        cast(merged_at as {{ dbt.type_timestamp() }}) as merged_at,
        cast(ready_times.first_ready_for_review_at as {{ dbt.type_timestamp() }}) as ready_for_review_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest
    left join ready_times
        on ready_times.ready_id = latest.id

)

select * from renamed
