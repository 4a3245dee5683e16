{{ config(meta={'dagster': {'ref': {'name': 'fct_ai_usage_daily'}}}) }}

-- fct_ai_usage_daily spreads each actor-day over its model rows without double counting: per
-- actor-day, its sums equal the Anthropic report's actor-day metrics and model-day costs and tokens.
-- Returns the actor-days whose totals differ.

with

usage as (

    select
        actor_type, actor_id, date_day,
        sum(sessions) as sessions,
        sum(lines_added) as lines_added,
        sum(edits_accepted) as edits_accepted,
        coalesce(sum(cost_usd), 0) as cost_usd,
        coalesce(sum(output_tokens), 0) as output_tokens
    from {{ ref('fct_ai_usage_daily') }}
    group by 1, 2, 3

),

actor_days as (

    select
        actor_type, actor_id, activity_date as date_day,
        sessions, lines_added, edits_accepted
    from {{ ref('stg_anthropic__claude_code_actor_days') }}

),

model_days as (

    select
        actor_type, actor_id, activity_date as date_day,
        sum(cost_usd) as cost_usd,
        sum(output_tokens) as output_tokens
    from {{ ref('stg_anthropic__claude_code_model_days') }}
    group by 1, 2, 3

),

report as (

    select
        coalesce(actor_days.actor_type, model_days.actor_type) as actor_type,
        coalesce(actor_days.actor_id, model_days.actor_id) as actor_id,
        coalesce(actor_days.date_day, model_days.date_day) as date_day,
        coalesce(actor_days.sessions, 0) as sessions,
        coalesce(actor_days.lines_added, 0) as lines_added,
        coalesce(actor_days.edits_accepted, 0) as edits_accepted,
        coalesce(model_days.cost_usd, 0) as cost_usd,
        coalesce(model_days.output_tokens, 0) as output_tokens
    from actor_days
    full outer join model_days
        on model_days.actor_type = actor_days.actor_type
        and model_days.actor_id = actor_days.actor_id
        and model_days.date_day = actor_days.date_day

)

select
    report.*,
    usage.sessions as usage_sessions,
    usage.cost_usd as usage_cost_usd
from report
left join usage
    on usage.actor_type = report.actor_type
    and usage.actor_id = report.actor_id
    and usage.date_day = report.date_day
where usage.actor_id is null
    or usage.sessions <> report.sessions
    or usage.lines_added <> report.lines_added
    or usage.edits_accepted <> report.edits_accepted
    or usage.output_tokens <> report.output_tokens
    or abs(usage.cost_usd - report.cost_usd) > 1e-9
