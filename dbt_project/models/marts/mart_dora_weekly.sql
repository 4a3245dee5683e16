-- DORA's keys per team and ISO week. A team's delivery is that of the repositories it owns
-- (dim_repository.team_id): their successful production deployments, the lead time of the PRs those
-- deployments first shipped, and the review time of the PRs merged into them. Change failure rate and
-- time to restore need an incident source and stay null until one is configured.

with

teams as (

    select * from {{ ref('dim_team') }}

),

repositories as (

    select * from {{ ref('dim_repository') }}

),

deployments as (

    select * from {{ ref('fct_deployments') }}

),

pull_requests as (

    select * from {{ ref('fct_pull_requests') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

bands as (

    select * from {{ ref('dora_performance_bands') }}

),

weeks as (

    select distinct week_start from calendar

),

team_weeks as (

    select teams.team_id, weeks.week_start
    from teams
    cross join weeks

),

production_deployments as (

    select
        repositories.team_id,
        {{ week_start('deployments.deployed_at') }} as week_start,
        cast(deployments.deployed_at as date) as deployed_on,
        deployments.deployment_id
    from deployments
    inner join repositories
        on repositories.repository_id = deployments.repository_id
    where deployments.is_production and deployments.status = 'success'

),

failed_attempts as (

    select
        repositories.team_id,
        {{ week_start('deployments.created_at') }} as week_start,
        count(*) as failed_deployment_attempts
    from deployments
    inner join repositories
        on repositories.repository_id = deployments.repository_id
    where deployments.is_production and deployments.is_failure
    group by 1, 2

),

weekly_deployments as (

    select
        team_id,
        week_start,
        count(*) as deployments,
        count(distinct deployed_on) as deployment_days
    from production_deployments
    group by 1, 2

),

weekly_lead_time as (

    select
        repositories.team_id,
        {{ week_start('pull_requests.first_deployed_at') }} as week_start,
        count(*) as changes_deployed,
        percentile_cont(0.5) within group (order by pull_requests.lead_time_hours) as lead_time_p50_hours
    from pull_requests
    inner join repositories
        on repositories.repository_id = pull_requests.repository_id
    where pull_requests.lead_time_hours is not null
    group by 1, 2

),

weekly_reviews as (

    select
        repositories.team_id,
        {{ week_start('pull_requests.merged_at') }} as week_start,
        count(*) as merged_prs,
        percentile_cont(0.5) within group (order by pull_requests.review_hours) as pr_review_p50_hours
    from pull_requests
    inner join repositories
        on repositories.repository_id = pull_requests.repository_id
    where pull_requests.merged_at is not null
    group by 1, 2

),

joined as (

    select
        team_weeks.team_id,
        team_weeks.week_start,
        coalesce(weekly_deployments.deployments, 0) as deployments,
        coalesce(weekly_deployments.deployment_days, 0) as deployment_days,
        coalesce(failed_attempts.failed_deployment_attempts, 0) as failed_deployment_attempts,
        coalesce(weekly_lead_time.changes_deployed, 0) as changes_deployed,
        weekly_lead_time.lead_time_p50_hours,
        coalesce(weekly_reviews.merged_prs, 0) as merged_prs,
        weekly_reviews.pr_review_p50_hours
    from team_weeks
    left join weekly_deployments
        on weekly_deployments.team_id = team_weeks.team_id
        and weekly_deployments.week_start = team_weeks.week_start
    left join failed_attempts
        on failed_attempts.team_id = team_weeks.team_id
        and failed_attempts.week_start = team_weeks.week_start
    left join weekly_lead_time
        on weekly_lead_time.team_id = team_weeks.team_id
        and weekly_lead_time.week_start = team_weeks.week_start
    left join weekly_reviews
        on weekly_reviews.team_id = team_weeks.team_id
        and weekly_reviews.week_start = team_weeks.week_start

),

banded as (

    select
        joined.*,
        frequency_band.band as deployment_frequency_band,
        lead_time_band.band as lead_time_band
    from joined
    left join bands as frequency_band
        on frequency_band.metric = 'deployments_per_week'
        and joined.deployments >= frequency_band.lower_bound
        and (frequency_band.upper_bound is null or joined.deployments < frequency_band.upper_bound)
    left join bands as lead_time_band
        on lead_time_band.metric = 'lead_time_hours'
        and joined.lead_time_p50_hours >= lead_time_band.lower_bound
        and (lead_time_band.upper_bound is null or joined.lead_time_p50_hours < lead_time_band.upper_bound)

),

final as (

    select

        ----------  keys
        team_id,
        week_start,

        ----------  deployment frequency
        deployments,
        deployment_days,
        failed_deployment_attempts,
        deployment_frequency_band,

        ----------  lead time for changes
        changes_deployed,
        lead_time_p50_hours,
        lead_time_band,

        ----------  review
        merged_prs,
        pr_review_p50_hours,

        ----------  stability (needs an incident source)
        cast(null as {{ type_double() }}) as cfr,
        cast(null as integer) as cfr_numerator,
        deployments as cfr_denominator,
        cast(null as {{ type_double() }}) as mttr_p50_hours

    from banded

)

select * from final
