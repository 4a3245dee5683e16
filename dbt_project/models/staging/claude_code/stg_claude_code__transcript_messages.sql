-- One row per Claude Code API response from the session transcripts: per dedup_key, the landed row with
-- the largest output_tokens (the final streaming snapshot), then the latest _extracted_at.

with

source as (

    select * from {{ source('claude_code', 'transcript_messages') }}

),

latest as (

    {{ deduplicate('source', partition_by='dedup_key', order_by='output_tokens desc, _extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(['dedup_key'], "''") }} as message_key,
        cast(dedup_key as {{ dbt.type_string() }}) as dedup_key,
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(message_id as {{ dbt.type_string() }}) as message_id,
        cast(request_id as {{ dbt.type_string() }}) as request_id,
        cast(uuid as {{ dbt.type_string() }}) as line_uuid,
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,

        ----------  who and where
        cast(developer as {{ dbt.type_string() }}) as developer_identity,
        lower(cast(developer_email as {{ dbt.type_string() }})) as developer_email,
        cast(cwd as {{ dbt.type_string() }}) as cwd,
        cast(git_branch as {{ dbt.type_string() }}) as git_branch,

        ----------  text
        cast(model as {{ dbt.type_string() }}) as model,
        cast(version as {{ dbt.type_string() }}) as claude_code_version,
        cast(stop_reason as {{ dbt.type_string() }}) as stop_reason,
        cast(cost_source as {{ dbt.type_string() }}) as cost_source,
        cast(file as {{ dbt.type_string() }}) as source_file,
        cast(line as {{ dbt.type_int() }}) as source_line,

        ----------  flags
        cast(is_sidechain as {{ dbt.type_boolean() }}) as is_sidechain,

        ----------  numerics
        cast(input_tokens as {{ dbt.type_bigint() }}) as input_tokens,
        cast(output_tokens as {{ dbt.type_bigint() }}) as output_tokens,
        cast(cache_read_input_tokens as {{ dbt.type_bigint() }}) as cache_read_tokens,
        cast(cache_creation_input_tokens as {{ dbt.type_bigint() }}) as cache_creation_tokens,
        cast(cache_creation_5m_tokens as {{ dbt.type_bigint() }}) as cache_creation_5m_tokens,
        cast(cache_creation_1h_tokens as {{ dbt.type_bigint() }}) as cache_creation_1h_tokens,
        cast(cost_usd as {{ type_double() }}) as cost_usd,

        ----------  timestamps (UTC)
        cast({{ adapter.quote('timestamp') }} as {{ dbt.type_timestamp() }}) as message_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
