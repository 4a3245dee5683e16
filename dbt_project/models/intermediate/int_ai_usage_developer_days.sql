-- A table, not a view: a dozen data tests and several marts read it, and recomputing it for each costs
-- more than storing it (dbt build of `medium`: bench/results.md).
{{ config(materialized='table') }}

-- Claude Code usage per developer and UTC day from ONE source (DESIGN section 5, "Overlapping AI
-- sources"): the Anthropic Admin API report where it has that developer-day, else the OpenTelemetry
-- export, else the session transcripts, so a developer on the API platform who also ships telemetry or
-- transcripts is not counted twice. Active hours come from telemetry whatever source the tokens rest on
-- (only telemetry and transcripts measure time; per-session transcript active time is in fct_ai_sessions).
-- Only developers of the team
-- mapping: unmatched actors and folders are in mart_unmatched_identities. Edit decisions exist only in
-- the Admin API report: transcript days carry them as null.

with

usage_daily as (

    select * from {{ ref('fct_ai_usage_daily') }}

),

session_lines as (

    select * from {{ ref('int_ai_session_lines') }}

),

admin_api_days as (

    select
        developer_id,
        date_day,
        'anthropic_api' as source,
        sum(coalesce(input_tokens, 0)) as input_tokens,
        sum(coalesce(output_tokens, 0)) as output_tokens,
        sum(coalesce(cache_read_tokens, 0)) as cache_read_tokens,
        sum(coalesce(cache_creation_tokens, 0)) as cache_creation_tokens,
        sum(coalesce(cost_usd, 0)) as cost_usd,
        sum(sessions) as sessions,
        sum(commits) as commits,
        sum(pull_requests) as pull_requests,
        sum(edits_accepted) as edits_accepted,
        sum(edits_rejected) as edits_rejected
    from usage_daily
    where developer_id is not null
    group by developer_id, date_day

),

transcript_days as (

    select
        developer_id,
        cast(message_at as date) as date_day,
        'transcripts' as source,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_creation_tokens) as cache_creation_tokens,
        sum(coalesce(cost_usd, 0)) as cost_usd,
        count(distinct session_id) as sessions,
        cast(null as {{ dbt.type_bigint() }}) as commits,
        cast(null as {{ dbt.type_bigint() }}) as pull_requests,
        cast(null as {{ dbt.type_bigint() }}) as edits_accepted,
        cast(null as {{ dbt.type_bigint() }}) as edits_rejected
    from session_lines
    where developer_id is not null
    group by developer_id, cast(message_at as date)

),

otel_days as (

    select
        developer_id,
        date_day,
        'otel' as source,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_creation_tokens) as cache_creation_tokens,
        sum(cost_usd) as cost_usd,
        sum(sessions) as sessions,
        sum(commits) as commits,
        sum(pull_requests) as pull_requests,
        sum(edits_accepted) as edits_accepted,
        sum(edits_rejected) as edits_rejected,
        sum(active_hours) as active_hours
    from {{ ref('int_ai_otel_developer_days') }}
    where developer_id is not null
    group by developer_id, date_day

),

otel_only_days as (

    select otel_days.*
    from otel_days
    left join admin_api_days
        on admin_api_days.developer_id = otel_days.developer_id
        and admin_api_days.date_day = otel_days.date_day
    where admin_api_days.developer_id is null

),

transcript_only_days as (

    select transcript_days.*
    from transcript_days
    left join admin_api_days
        on admin_api_days.developer_id = transcript_days.developer_id
        and admin_api_days.date_day = transcript_days.date_day
    left join otel_days
        on otel_days.developer_id = transcript_days.developer_id
        and otel_days.date_day = transcript_days.date_day
    where admin_api_days.developer_id is null
        and otel_days.developer_id is null

),

chosen as (

    select developer_id, date_day, source, input_tokens, output_tokens, cache_read_tokens,
        cache_creation_tokens, cast(cost_usd as {{ type_double() }}) as cost_usd, sessions, commits,
        pull_requests, edits_accepted, edits_rejected
    from admin_api_days

    union all

    select developer_id, date_day, source, input_tokens, output_tokens, cache_read_tokens,
        cache_creation_tokens, cast(cost_usd as {{ type_double() }}) as cost_usd, sessions, commits,
        pull_requests, edits_accepted, edits_rejected
    from transcript_only_days

    union all

    select developer_id, date_day, source, input_tokens, output_tokens, cache_read_tokens,
        cache_creation_tokens, cast(cost_usd as {{ type_double() }}) as cost_usd, sessions, commits,
        pull_requests, edits_accepted, edits_rejected
    from otel_only_days

),

final as (

    select
        chosen.*,
        cast(otel_days.active_hours as {{ type_double() }}) as active_hours
    from chosen
    left join otel_days
        on otel_days.developer_id = chosen.developer_id
        and otel_days.date_day = chosen.date_day

)

select * from final
