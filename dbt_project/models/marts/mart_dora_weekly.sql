-- DORA's keys per team and ISO week. A team's delivery is that of the repositories it owns
-- (dim_repository.team_id): their successful production deployments, the lead time of the PRs those
-- deployments first shipped, and the review time of the PRs merged into them. Change failure rate:
-- of the week's successful production deployments (by deployed_at), those that caused an incident or
-- were rolled back (fct_deployments.is_failure); null in a week without deployments. Time to restore:
-- the median restore_hours of the incidents created that week in the team's repositories (resolved
-- ones; an incident whose repository is unknown belongs to no team and is left out here).

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

incidents as (

    select * from {{ ref('fct_incidents') }}

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
        deployments.deployment_id,
        deployments.is_failure
    from deployments
    inner join repositories
        on repositories.repository_id = deployments.repository_id
    where deployments.is_production and deployments.is_successful

),

failed_attempts as (

    select
        repositories.team_id,
        {{ week_start('deployments.created_at') }} as week_start,
        count(*) as failed_deployment_attempts
    from deployments
    inner join repositories
        on repositories.repository_id = deployments.repository_id
    where deployments.is_production and deployments.is_failed_attempt
    group by 1, 2

),

weekly_deployments as (

    select
        team_id,
        week_start,
        count(*) as deployments,
        count(distinct deployed_on) as deployment_days,
        sum(case when is_failure then 1 else 0 end) as failed_deployments
    from production_deployments
    group by 1, 2

),

weekly_incidents as (

    select
        repositories.team_id,
        {{ week_start('incidents.created_at') }} as week_start,
        count(*) as incidents,
        count(incidents.restore_hours) as resolved_incidents,
        percentile_cont(0.5) within group (order by incidents.restore_hours) as mttr_p50_hours
    from incidents
    inner join repositories
        on repositories.repository_id = incidents.repository_id
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
        coalesce(weekly_deployments.failed_deployments, 0) as failed_deployments,
        coalesce(weekly_incidents.incidents, 0) as incidents,
        coalesce(weekly_incidents.resolved_incidents, 0) as resolved_incidents,
        weekly_incidents.mttr_p50_hours,
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
    left join weekly_incidents
        on weekly_incidents.team_id = team_weeks.team_id
        and weekly_incidents.week_start = team_weeks.week_start

),

with_rates as (

    select
        joined.*,
        case
            when deployments > 0 then cast(failed_deployments as {{ type_double() }}) / deployments
        end as cfr
    from joined

),

banded as (

    select
        with_rates.*,
        frequency_band.band as deployment_frequency_band,
        lead_time_band.band as lead_time_band,
        cfr_band.band as cfr_band,
        mttr_band.band as mttr_band
    from with_rates
    left join bands as frequency_band
        on frequency_band.metric = 'deployments_per_week'
        and with_rates.deployments >= frequency_band.lower_bound
        and (frequency_band.upper_bound is null or with_rates.deployments < frequency_band.upper_bound)
    left join bands as lead_time_band
        on lead_time_band.metric = 'lead_time_hours'
        and with_rates.lead_time_p50_hours >= lead_time_band.lower_bound
        and (lead_time_band.upper_bound is null or with_rates.lead_time_p50_hours < lead_time_band.upper_bound)
    left join bands as cfr_band
        on cfr_band.metric = 'change_failure_rate'
        and with_rates.cfr >= cfr_band.lower_bound
        and (cfr_band.upper_bound is null or with_rates.cfr < cfr_band.upper_bound)
    left join bands as mttr_band
        on mttr_band.metric = 'time_to_restore_hours'
        and with_rates.mttr_p50_hours >= mttr_band.lower_bound
        and (mttr_band.upper_bound is null or with_rates.mttr_p50_hours < mttr_band.upper_bound)

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

        ----------  change failure rate
        failed_deployments,
        failed_deployments as cfr_numerator,
        deployments as cfr_denominator,
        cfr,
        cfr_band,

        ----------  time to restore
        incidents,
        resolved_incidents,
        cast(mttr_p50_hours as {{ type_double() }}) as mttr_p50_hours,
        mttr_band

    from banded

)

select * from final
