-- AI adoption per developer (DESIGN section 5): ai_adopted_at is the first week (ISO, Monday) of the
-- first two consecutive weeks, exactly 7 days apart, each with Claude Code use on at least
-- var('adoption_min_days_per_week') distinct days. A usage day is an actor-day of the Anthropic
-- report with at least one session, for any actor that resolves to the developer by e-mail.
-- One row per developer with any usage; ai_adopted_at is null when use never became sustained.

with

actor_days as (

    select * from {{ ref('stg_anthropic__claude_code_actor_days') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

developer_usage_days as (

    select distinct
        identities.developer_id,
        actor_days.activity_date
    from actor_days
    inner join identities
        on identities.identity_type = 'email'
        and identities.identity_value = lower(actor_days.actor_id)
    where actor_days.actor_type = 'user_actor'
        and actor_days.sessions > 0

),

weekly_usage as (

    select
        developer_id,
        {{ week_start('activity_date') }} as week_start,
        count(distinct activity_date) as usage_days
    from developer_usage_days
    group by 1, 2

),

sustained_weeks as (

    select developer_id, week_start
    from weekly_usage
    where usage_days >= {{ var('adoption_min_days_per_week') }}

),

adoption_weeks as (

    select
        this_week.developer_id,
        min(this_week.week_start) as ai_adopted_at
    from sustained_weeks as this_week
    inner join sustained_weeks as next_week
        on next_week.developer_id = this_week.developer_id
        and next_week.week_start = cast({{ dbt.dateadd('day', 7, 'this_week.week_start') }} as date)
    group by this_week.developer_id

),

usage_summary as (

    select
        developer_id,
        min(activity_date) as first_used_on,
        max(activity_date) as last_used_on,
        count(*) as usage_days
    from developer_usage_days
    group by developer_id

),

final as (

    select

        ----------  ids
        usage_summary.developer_id,

        ----------  dates
        adoption_weeks.ai_adopted_at,
        usage_summary.first_used_on,
        usage_summary.last_used_on,

        ----------  counts
        usage_summary.usage_days

    from usage_summary
    left join adoption_weeks
        on adoption_weeks.developer_id = usage_summary.developer_id

)

select * from final
