-- AI spend alerts (DESIGN section 5), one row per alert:
--   * developer_day: a developer's spend on one UTC day (one source per developer-day) above
--     alerts.developer_day_usd;
--   * session: a Claude Code session (fct_ai_sessions) costing more than alerts.session_usd, typically
--     an agent left running overnight;
--   * budget: a scope whose projected month is above its budget, for the month still running (the
--     month of the as-of day); past months are in mart_ai_budget but no longer something to act on.
-- alert_id is a stable hash of (kind, subject, period): the webhook sends each alert_id once, so a
-- developer-day whose cost grows after its alert went out does not alert again.

with

thresholds as (

    select * from {{ ref('stg_org__ai_alert_thresholds') }}

),

developer_days as (

    select * from {{ ref('mart_ai_developer_day_spend') }}

),

sessions as (

    select * from {{ ref('fct_ai_sessions') }}

),

budgets as (

    select * from {{ ref('mart_ai_budget') }}

),

developers as (

    select * from {{ ref('dim_developer') }}

),

developer_day_alerts as (

    select
        'developer_day' as kind,
        developer_days.developer_id,
        developers.team_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_string() }}) as scope_kind,
        cast(null as {{ dbt.type_string() }}) as scope,
        cast(developer_days.date_day as {{ dbt.type_string() }}) as period,
        cast(developer_days.date_day as {{ dbt.type_timestamp() }}) as period_start,
        cast({{ dbt.dateadd('day', 1, 'developer_days.date_day') }} as {{ dbt.type_timestamp() }}) as period_end,
        developer_days.cost_usd,
        thresholds.developer_day_usd as threshold_usd,
        developer_days.source
    from developer_days
    cross join thresholds
    left join developers
        on developers.developer_id = developer_days.developer_id
    where developer_days.cost_usd > thresholds.developer_day_usd

),

session_alerts as (

    select
        'session' as kind,
        sessions.developer_id,
        developers.team_id,
        sessions.session_id,
        cast(null as {{ dbt.type_string() }}) as scope_kind,
        cast(null as {{ dbt.type_string() }}) as scope,
        cast(cast(sessions.started_at as date) as {{ dbt.type_string() }}) as period,
        cast(sessions.started_at as {{ dbt.type_timestamp() }}) as period_start,
        cast(sessions.ended_at as {{ dbt.type_timestamp() }}) as period_end,
        sessions.cost_usd,
        thresholds.session_usd as threshold_usd,
        sessions.source
    from sessions
    cross join thresholds
    left join developers
        on developers.developer_id = sessions.developer_id
    where sessions.cost_usd > thresholds.session_usd

),

budget_alerts as (

    select
        'budget' as kind,
        budgets.developer_id,
        budgets.team_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        budgets.scope_kind,
        budgets.scope,
        substring(cast(budgets.month_start as {{ dbt.type_string() }}), 1, 7) as period,
        cast(budgets.month_start as {{ dbt.type_timestamp() }}) as period_start,
        cast({{ dbt.dateadd('day', 1, 'budgets.as_of_date') }} as {{ dbt.type_timestamp() }}) as period_end,
        budgets.projected_month_usd as cost_usd,
        budgets.budget_usd as threshold_usd,
        'projection' as source
    from budgets
    where budgets.over_budget
        and budgets.is_current_month

),

all_alerts as (

    select * from developer_day_alerts
    union all
    select * from session_alerts
    union all
    select * from budget_alerts

),

final as (

    select

        ----------  ids
        {{ md5_key([
            'kind',
            "case kind when 'session' then session_id when 'budget' then scope_kind || ':' || lower(scope) else developer_id end",
            'period',
        ], "'|'") }} as alert_id,
        kind,
        developer_id,
        team_id,
        session_id,
        scope_kind,
        scope,

        ----------  when
        period,
        period_start,
        period_end,

        ----------  money (USD)
        cast(cost_usd as {{ type_double() }}) as cost_usd,
        cast(threshold_usd as {{ type_double() }}) as threshold_usd,

        ----------  lineage
        source

    from all_alerts

)

select * from final
