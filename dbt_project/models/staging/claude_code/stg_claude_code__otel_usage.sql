-- One row per Claude Code telemetry series and UTC day from the OpenTelemetry exports: the row of the
-- latest run for each key (every run lands the aggregate of every export file, so the latest is complete).

with

source as (

    select * from {{ source('claude_code', 'otel_usage') }}

),

keyed as (

    select
        source.*,
        {{ md5_key(['date', 'user_email', 'user_account_uuid', 'session_id', 'metric', 'model', 'kind', 'tool_name', 'decision']) }} as series_day_key
    from source

),

latest as (

    {{ deduplicate('keyed', partition_by='series_day_key', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        series_day_key,
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(organization_id as {{ dbt.type_string() }}) as organization_id,

        ----------  who
        lower(cast(user_email as {{ dbt.type_string() }})) as user_email,
        cast(user_account_uuid as {{ dbt.type_string() }}) as user_account_uuid,

        ----------  what
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(model as {{ dbt.type_string() }}) as model,
        cast(kind as {{ dbt.type_string() }}) as kind,
        cast(tool_name as {{ dbt.type_string() }}) as tool_name,
        cast(decision as {{ dbt.type_string() }}) as decision,
        cast(unit as {{ dbt.type_string() }}) as unit,
        cast(value as {{ type_double() }}) as metric_value,
        cast(points as {{ dbt.type_int() }}) as points,
        cast(file as {{ dbt.type_string() }}) as source_file,

        ----------  time (UTC)
        cast({{ adapter.quote('date') }} as date) as activity_date,
        cast(first_point_at as {{ dbt.type_timestamp() }}) as first_point_at,
        cast(last_point_at as {{ dbt.type_timestamp() }}) as last_point_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
