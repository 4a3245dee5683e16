{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['actor_type', 'actor_id', 'date_day'],
        on_schema_change='append_new_columns'
    )
}}

-- Claude Code usage per actor, UTC day and model from the Anthropic Admin API report (source
-- 'anthropic_api'), with the actor resolved to a developer where the mapping knows the e-mail
-- (unmatched actors keep their rows with developer_id null).
-- Tokens and cost are per model. The actor-day metrics (sessions, lines, commits, pull requests, edit
-- decisions) are not per model: they sit only on the row of the actor-day's highest-cost model and are
-- 0 on its other rows, so that any sum over rows is right. An actor-day without a model breakdown
-- keeps one row with model, tokens and cost null.
-- Incremental (macros/incremental_filters.sql): a build recomputes the actor-days with a record landed
-- since the table's newest extracted_at minus the lookback (the Admin API restates recent days), or
-- every actor-day when identity resolution changed; delete+insert on the actor-day (actor_type, actor_id,
-- date_day: columns every earlier version of this table has) replaces all rows of a recomputed
-- actor-day (its model rows and which one carries the actor-day metrics).

with

actor_days as (

    select * from {{ ref('stg_anthropic__claude_code_actor_days') }}

),

model_days as (

    select * from {{ ref('stg_anthropic__claude_code_model_days') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

identity_state as (

    {{ identity_fingerprint_sql() }}

),

landed_records as (

    select actor_day_id, actor_type, actor_id, activity_date, extracted_at from actor_days
    union all
    select actor_day_id, actor_type, actor_id, activity_date, extracted_at from model_days

),

actor_day_keys as (

    select
        actor_day_id,
        actor_type,
        actor_id,
        activity_date,
        max(extracted_at) as extracted_at
    from landed_records
    group by actor_day_id, actor_type, actor_id, activity_date
    {% if is_incremental() %}
    having max(extracted_at) > {{ incremental_watermark() }}
        or {{ identity_changed() }}
    {% endif %}

),

usage_rows as (

    select
        actor_day_keys.actor_day_id,
        actor_day_keys.actor_type,
        actor_day_keys.actor_id,
        actor_day_keys.activity_date,
        actor_day_keys.extracted_at,
        model_days.model,
        model_days.input_tokens,
        model_days.output_tokens,
        model_days.cache_read_tokens,
        model_days.cache_creation_tokens,
        model_days.cost_usd,
        row_number() over (
            partition by actor_day_keys.actor_day_id
            order by model_days.cost_usd desc nulls last, model_days.model
        ) as model_cost_rank
    from actor_day_keys
    left join model_days
        on model_days.actor_day_id = actor_day_keys.actor_day_id

),

with_actor_metrics as (

    select
        usage_rows.*,
        case when usage_rows.model_cost_rank = 1 then coalesce(actor_days.sessions, 0) else 0 end as sessions,
        case when usage_rows.model_cost_rank = 1 then coalesce(actor_days.lines_added, 0) else 0 end as lines_added,
        case when usage_rows.model_cost_rank = 1 then coalesce(actor_days.lines_removed, 0) else 0 end as lines_removed,
        case when usage_rows.model_cost_rank = 1 then coalesce(actor_days.commits, 0) else 0 end as commits,
        case when usage_rows.model_cost_rank = 1 then coalesce(actor_days.pull_requests, 0) else 0 end as pull_requests,
        case when usage_rows.model_cost_rank = 1 then coalesce(actor_days.edits_accepted, 0) else 0 end as edits_accepted,
        case when usage_rows.model_cost_rank = 1 then coalesce(actor_days.edits_rejected, 0) else 0 end as edits_rejected,
        identities.developer_id
    from usage_rows
    left join actor_days
        on actor_days.actor_day_id = usage_rows.actor_day_id
    left join identities
        on usage_rows.actor_type = 'user_actor'
        and identities.identity_type = 'email'
        and identities.identity_value = lower(usage_rows.actor_id)

),

final as (

    select

        ----------  ids
        {{ md5_key(["'anthropic_api'", 'actor_type', 'actor_id', 'activity_date', 'model'], "'|'") }} as ai_usage_daily_id,
        actor_day_id,
        developer_id,
        actor_type,
        actor_id,

        ----------  grain
        activity_date as date_day,
        model,

        ----------  tokens and cost (per model)
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cache_creation_tokens,
        cost_usd,

        ----------  actor-day metrics (on the highest-cost model's row only; 0 elsewhere)
        sessions,
        lines_added,
        lines_removed,
        commits,
        pull_requests,
        edits_accepted,
        edits_rejected,

        ----------  lineage
        'anthropic_api' as source,
        extracted_at,
        (select identity_fingerprint from identity_state) as identity_fingerprint

    from with_actor_metrics

)

select * from final
