{{ config(meta={'dagster': {'ref': {'name': 'mart_dora_weekly'}}}) }}

-- Change failure rate: the failed deployments of a team-week are some of its successful production
-- deployments (numerator <= denominator), and the mart's totals equal fct_deployments' own counts
-- for the repositories a team owns. Returns a row for every breach.

with

weekly as (

    select
        sum(failed_deployments) as failed_deployments,
        sum(cfr_denominator) as deployments,
        sum(case when failed_deployments > cfr_denominator then 1 else 0 end) as weeks_over
    from {{ ref('mart_dora_weekly') }}

),

facts as (

    select
        sum(case when deployments.is_failure then 1 else 0 end) as failed_deployments,
        count(*) as deployments
    from {{ ref('fct_deployments') }} as deployments
    inner join {{ ref('dim_repository') }} as repositories
        on repositories.repository_id = deployments.repository_id
    where deployments.is_production
        and deployments.is_successful
        and repositories.team_id is not null

)

select
    weekly.failed_deployments as mart_failed,
    facts.failed_deployments as fact_failed,
    weekly.deployments as mart_deployments,
    facts.deployments as fact_deployments,
    weekly.weeks_over
from weekly
cross join facts
where weekly.weeks_over > 0
    or coalesce(weekly.failed_deployments, 0) <> coalesce(facts.failed_deployments, 0)
    or coalesce(weekly.deployments, 0) <> coalesce(facts.deployments, 0)
