-- `claude_code.repo_paths` of the configuration (latest snapshot): a local checkout path or glob and the
-- repository it holds. The pattern is kept as configured and also as a SQL LIKE pattern (`*` -> `%`,
-- `?` -> `_`, `~` -> `%` since transcripts come from many home folders, a trailing `/` dropped) so int_ai_session_lines can match a cwd at or under it portably.

with

source as (

    select * from {{ source('org', 'repo_paths') }}

),

snapshot as (

    select extracted_at from {{ ref('stg_org__ai_alert_thresholds') }}

),

current_paths as (

    select source.*
    from source
    inner join snapshot
        on source._extracted_at = snapshot.extracted_at

),

latest as (

    {{ deduplicate('current_paths', partition_by='path_pattern', order_by='_batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(['path_pattern'], "''") }} as repo_path_id,

        ----------  mapping
        cast(path_pattern as {{ dbt.type_string() }}) as path_pattern,
        replace(replace(replace({{ rtrim_characters('cast(path_pattern as ' ~ dbt.type_string() ~ ')', "'/'") }}, '~', '%'), '*', '%'), '?', '_') as like_pattern,
        length({{ rtrim_characters('cast(path_pattern as ' ~ dbt.type_string() ~ ')', "'/'") }}) as pattern_length,
        cast(repository as {{ dbt.type_string() }}) as repository_full_name,

        ----------  landing lineage
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
