-- Calendar: one row per day from the earliest to the latest activity date in the warehouse (PR,
-- commit, review, deployment, Claude Code, incident and Jira issue dates), with its ISO week (Monday) and month.

with

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

pull_request_commits as (

    select * from {{ ref('stg_github__pull_request_commits') }}

),

reviews as (

    select * from {{ ref('stg_github__reviews') }}

),

deployments as (

    select * from {{ ref('stg_github__deployments') }}

),

actor_days as (

    select * from {{ ref('stg_anthropic__claude_code_actor_days') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

jira_issues as (

    select * from {{ ref('stg_jira__issues') }}

),

activity_dates as (

    select cast(created_at as date) as activity_date from pull_requests
    union all
    select cast(coalesce(merged_at, closed_at) as date) from pull_requests
    union all
    select cast(authored_at as date) from pull_request_commits
    union all
    select cast(submitted_at as date) from reviews
    union all
    select cast(created_at as date) from deployments
    union all
    select activity_date from actor_days
    union all
    select cast(created_at as date) from incidents
    union all
    select cast(resolved_at as date) from incidents
    union all
    select cast(created_at as date) from jira_issues
    union all
    select cast(resolution_date as date) from jira_issues

),

bounds as (

    select
        min(activity_date) as first_date,
        max(activity_date) as last_date
    from activity_dates
    where activity_date is not null

),

days as (

    {{ date_spine('bounds', 'bounds.first_date', 'bounds.last_date') }}
    where bounds.first_date is not null

),

final as (

    select
        date_day,
        {{ week_start('date_day') }} as week_start,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start
    from days

)

select * from final
