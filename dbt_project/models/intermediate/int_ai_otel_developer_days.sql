-- Claude Code usage per developer and UTC day from the OpenTelemetry exports: tokens, cost, sessions,
-- commits, pull requests, edit decisions and active time (the one thing only telemetry reports).
-- Telemetry carries user.email; it is matched to a developer through the team mapping's e-mails
-- (int_developer_identities). Rows whose e-mail matches nobody are kept with developer_id null, so the
-- unmatched share can be reported instead of silently dropped.

with

otel as (

    select * from {{ ref('stg_claude_code__otel_usage') }}

),

identities as (

    select developer_id, identity_value
    from {{ ref('int_developer_identities') }}
    where identity_type = 'email'

),

per_day as (

    select
        user_email,
        activity_date as date_day,
        sum(case when metric = 'claude_code.token.usage' and kind = 'input' then metric_value else 0 end) as input_tokens,
        sum(case when metric = 'claude_code.token.usage' and kind = 'output' then metric_value else 0 end) as output_tokens,
        sum(case when metric = 'claude_code.token.usage' and kind = 'cacheRead' then metric_value else 0 end) as cache_read_tokens,
        sum(case when metric = 'claude_code.token.usage' and kind = 'cacheCreation' then metric_value else 0 end) as cache_creation_tokens,
        sum(case when metric = 'claude_code.cost.usage' then metric_value else 0 end) as cost_usd,
        sum(case when metric = 'claude_code.session.count' then metric_value else 0 end) as sessions,
        sum(case when metric = 'claude_code.lines_of_code.count' and kind = 'added' then metric_value else 0 end) as lines_added,
        sum(case when metric = 'claude_code.lines_of_code.count' and kind = 'removed' then metric_value else 0 end) as lines_removed,
        sum(case when metric = 'claude_code.commit.count' then metric_value else 0 end) as commits,
        sum(case when metric = 'claude_code.pull_request.count' then metric_value else 0 end) as pull_requests,
        sum(case when metric = 'claude_code.code_edit_tool.decision' and decision = 'accept' then metric_value else 0 end) as edits_accepted,
        sum(case when metric = 'claude_code.code_edit_tool.decision' and decision = 'reject' then metric_value else 0 end) as edits_rejected,
        sum(case when metric = 'claude_code.active_time.total' then metric_value else 0 end) / 3600.0 as active_hours
    from otel
    where user_email is not null
    group by user_email, activity_date

),

final as (

    select
        identities.developer_id,
        per_day.user_email,
        per_day.date_day,
        cast(round(per_day.input_tokens) as {{ dbt.type_bigint() }}) as input_tokens,
        cast(round(per_day.output_tokens) as {{ dbt.type_bigint() }}) as output_tokens,
        cast(round(per_day.cache_read_tokens) as {{ dbt.type_bigint() }}) as cache_read_tokens,
        cast(round(per_day.cache_creation_tokens) as {{ dbt.type_bigint() }}) as cache_creation_tokens,
        cast(per_day.cost_usd as {{ type_double() }}) as cost_usd,
        cast(round(per_day.sessions) as {{ dbt.type_bigint() }}) as sessions,
        cast(round(per_day.lines_added) as {{ dbt.type_bigint() }}) as lines_added,
        cast(round(per_day.lines_removed) as {{ dbt.type_bigint() }}) as lines_removed,
        cast(round(per_day.commits) as {{ dbt.type_bigint() }}) as commits,
        cast(round(per_day.pull_requests) as {{ dbt.type_bigint() }}) as pull_requests,
        cast(round(per_day.edits_accepted) as {{ dbt.type_bigint() }}) as edits_accepted,
        cast(round(per_day.edits_rejected) as {{ dbt.type_bigint() }}) as edits_rejected,
        cast(per_day.active_hours as {{ type_double() }}) as active_hours
    from per_day
    left join identities
        on identities.identity_value = per_day.user_email

)

select * from final
