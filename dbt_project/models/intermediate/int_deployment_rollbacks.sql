-- Rolled-back production deployments (a change failure for DESIGN section 5's CFR). GitHub has no
-- rollback event, so it is read from what production ran: when a successful production deployment D
-- ships a commit that an earlier successful production deployment of the same repository already
-- shipped, and that is not the commit of the deployment just before D, then production went back to an
-- older version: the deployment just before D (the one D replaced) was rolled back. Re-deploying the
-- commit already in production is a re-run, not a rollback. Only the replaced deployment counts (with
-- A, B, C, A the rollback blames C; B had been replaced by C already).

with

deployments as (

    select * from {{ ref('int_deployments') }}

),

production as (

    select
        deployment_id,
        repository_full_name,
        commit_sha,
        deployed_at,
        lag(deployment_id) over (
            partition by repository_full_name order by deployed_at, deployment_source_id
        ) as previous_deployment_id,
        lag(commit_sha) over (
            partition by repository_full_name order by deployed_at, deployment_source_id
        ) as previous_commit_sha,
        lag(deployed_at) over (
            partition by repository_full_name order by deployed_at, deployment_source_id
        ) as previous_deployed_at
    from deployments
    where is_production and is_successful

),

rollbacks as (

    select distinct
        later.previous_deployment_id as deployment_id,
        later.deployment_id as rolled_back_by_deployment_id,
        later.deployed_at as rolled_back_at
    from production as later
    inner join production as earlier
        on earlier.repository_full_name = later.repository_full_name
        and earlier.commit_sha = later.commit_sha
        and earlier.deployed_at < later.previous_deployed_at
    where later.previous_deployment_id is not null
        and later.commit_sha <> later.previous_commit_sha

),

final as (

    select

        ----------  ids
        deployment_id,
        min(rolled_back_by_deployment_id) as rolled_back_by_deployment_id,

        ----------  timestamps (UTC)
        min(rolled_back_at) as rolled_back_at

    from rollbacks
    group by deployment_id

)

select * from final
