-- The developer x week panel the causal analysis reads: every developer of the team mapping for every
-- ISO week (Monday) from the week of the first PR to the week of the last PR, with the treatment
-- (AI adoption week) and the outcomes of the PRs they opened that week, plus the change failure rate
-- of their PRs that first reached production that week.

with

developers as (

    select * from {{ ref('dim_developer') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

pull_requests as (

    select * from {{ ref('fct_pull_requests') }}

),

deployments as (

    select * from {{ ref('fct_deployments') }}

),

ai_usage as (

    select * from {{ ref('fct_ai_usage_daily') }}

),

pull_request_weeks as (

    select
        min({{ week_start('created_at') }}) as first_week_start,
        max({{ week_start('created_at') }}) as last_week_start
    from pull_requests

),

weeks as (

    select distinct calendar.week_start
    from calendar
    cross join pull_request_weeks
    where calendar.week_start between pull_request_weeks.first_week_start
        and pull_request_weeks.last_week_start

),

developer_weeks as (

    select
        developers.developer_id,
        developers.team_id,
        developers.seniority,
        developers.ai_adopted_at,
        weeks.week_start
    from developers
    cross join weeks

),

weekly_pull_requests as (

    select
        author_developer_id as developer_id,
        {{ week_start('created_at') }} as week_start,
        count(*) as prs_opened,
        count(merged_at) as prs_merged,
        avg(case when merged_at is not null and review_hours > 0 then ln(review_hours) end)
            as log_review_hours_mean,
        percentile_cont(0.5) within group (
            order by case when merged_at is not null then review_hours end
        ) as review_hours_p50,
        -- pickup (opened -> first review by someone else) of the PRs opened that week that got one
        avg(case when pickup_hours > 0 then ln(pickup_hours) end) as log_pickup_hours_mean,
        percentile_cont(0.5) within group (order by pickup_hours) as pickup_hours_p50,
        -- lead time for changes (first commit -> first production deployment) of those deployed
        count(lead_time_hours) as prs_deployed,
        avg(case when lead_time_hours > 0 then ln(lead_time_hours) end) as log_lead_time_hours_mean,
        percentile_cont(0.5) within group (order by lead_time_hours) as lead_time_hours_p50
    from pull_requests
    where author_developer_id is not null
    group by 1, 2

),

-- Change failure rate of the developer's changes (DESIGN section 5, per PR instead of per
-- deployment): the PRs that first reached production in a week (week of first_deployed_at), and how
-- many of them shipped in a deployment that was a change failure (caused an incident or was rolled
-- back). A PR is the unit because it has one author; a deployment can ship several people's work.
weekly_changes as (

    select
        pull_requests.author_developer_id as developer_id,
        {{ week_start('pull_requests.first_deployed_at') }} as week_start,
        count(*) as changes_deployed,
        sum(case when deployments.is_failure then 1 else 0 end) as changes_failed
    from pull_requests
    inner join deployments
        on deployments.deployment_id = pull_requests.first_deployment_id
    where pull_requests.author_developer_id is not null
        and pull_requests.first_deployed_at is not null
    group by 1, 2

),

developer_days as (

    select
        developer_id,
        date_day,
        sum(cost_usd) as cost_usd,
        sum(sessions) as sessions
    from ai_usage
    where developer_id is not null
    group by 1, 2

),

weekly_ai_usage as (

    select
        developer_id,
        {{ week_start('date_day') }} as week_start,
        sum(cost_usd) as ai_cost_usd,
        count(case when sessions > 0 then date_day end) as ai_active_days
    from developer_days
    group by 1, 2

),

final as (

    select

        ----------  ids
        developer_weeks.developer_id,
        developer_weeks.team_id,
        developer_weeks.seniority,
        developer_weeks.week_start,

        ----------  treatment
        developer_weeks.ai_adopted_at,
        coalesce(developer_weeks.week_start >= developer_weeks.ai_adopted_at, false) as is_post_adoption,
        -- floor of a decimal division: `integer / 7` truncates on PostgreSQL but not on DuckDB
        cast(
            floor({{ dbt.datediff('developer_weeks.ai_adopted_at', 'developer_weeks.week_start', 'day') }} / 7.0)
            as {{ dbt.type_int() }}
        ) as weeks_since_adoption,

        ----------  pull request outcomes (PRs the developer opened that week)
        coalesce(weekly_pull_requests.prs_opened, 0) as prs_opened,
        coalesce(weekly_pull_requests.prs_merged, 0) as prs_merged,
        weekly_pull_requests.log_review_hours_mean,
        weekly_pull_requests.review_hours_p50,
        weekly_pull_requests.log_pickup_hours_mean,
        weekly_pull_requests.pickup_hours_p50,
        coalesce(weekly_pull_requests.prs_deployed, 0) as prs_deployed,
        weekly_pull_requests.log_lead_time_hours_mean,
        weekly_pull_requests.lead_time_hours_p50,
        -- log of the developer-week medians: a second summary of each duration, robust to one
        -- outlying PR; null when the median is null or not positive
        case when weekly_pull_requests.review_hours_p50 > 0
            then ln(weekly_pull_requests.review_hours_p50) end as log_review_hours_p50,
        case when weekly_pull_requests.pickup_hours_p50 > 0
            then ln(weekly_pull_requests.pickup_hours_p50) end as log_pickup_hours_p50,
        case when weekly_pull_requests.lead_time_hours_p50 > 0
            then ln(weekly_pull_requests.lead_time_hours_p50) end as log_lead_time_hours_p50,

        ----------  change failure rate (PRs that first reached production that week)
        coalesce(weekly_changes.changes_deployed, 0) as changes_deployed,
        coalesce(weekly_changes.changes_failed, 0) as changes_failed,
        cast(weekly_changes.changes_failed as {{ type_double() }})
            / cast(weekly_changes.changes_deployed as {{ type_double() }}) as change_failure_rate,

        ----------  AI usage (Anthropic Admin API)
        coalesce(weekly_ai_usage.ai_cost_usd, 0) as ai_cost_usd,
        coalesce(weekly_ai_usage.ai_active_days, 0) as ai_active_days

    from developer_weeks
    left join weekly_pull_requests
        on weekly_pull_requests.developer_id = developer_weeks.developer_id
        and weekly_pull_requests.week_start = developer_weeks.week_start
    left join weekly_changes
        on weekly_changes.developer_id = developer_weeks.developer_id
        and weekly_changes.week_start = developer_weeks.week_start
    left join weekly_ai_usage
        on weekly_ai_usage.developer_id = developer_weeks.developer_id
        and weekly_ai_usage.week_start = developer_weeks.week_start

)

select * from final
