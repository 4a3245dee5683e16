-- One row per GitHub deployment with its final status (the latest status by created_at), when it
-- succeeded (deployed_at: created_at of its first `success` status; null unless it succeeded) and
-- whether it is a successful production deployment. GitHub marks superseded deployments `inactive`
-- later: such a deployment still succeeded. A final `failure` or `error` changed nothing in production.
-- The first successful production deployment of a repository is its baseline (DESIGN section 5).

with

deployments as (

    select * from {{ ref('stg_github__deployments') }}

),

deployment_statuses as (

    select * from {{ ref('stg_github__deployment_statuses') }}

),

final_statuses as (

    select
        deployment_id,
        state as final_status,
        created_at as final_status_at
    from (
        select
            deployment_id,
            state,
            created_at,
            row_number() over (
                partition by deployment_id
                order by created_at desc, deployment_status_source_id desc
            ) as status_rank
        from deployment_statuses
    ) as ranked_statuses
    where status_rank = 1

),

success_times as (

    select
        deployment_id,
        min(created_at) as deployed_at
    from deployment_statuses
    where state = 'success'
    group by deployment_id

),

joined as (

    select
        deployments.*,
        final_statuses.final_status,
        final_statuses.final_status_at,
        success_times.deployed_at,
        (
            success_times.deployed_at is not null
            and coalesce(final_statuses.final_status not in ('failure', 'error'), true)
        ) as is_successful
    from deployments
    left join final_statuses
        on final_statuses.deployment_id = deployments.deployment_id
    left join success_times
        on success_times.deployment_id = deployments.deployment_id

),

classified as (

    select
        *,
        lower(environment) = lower('{{ var("deployment_environment") }}') as is_production,
        case when is_successful then deployed_at end as successful_deployed_at
    from joined

),

with_baseline as (

    select
        *,
        min(case when is_production then successful_deployed_at end) over (
            partition by repository_full_name
        ) as repository_baseline_deployed_at
    from classified

),

final as (

    select

        ----------  ids
        deployment_id,
        deployment_source_id,
        repository_full_name,
        {{ md5_key(['repository_full_name'], "''") }} as repository_id,
        commit_sha,

        ----------  text
        ref,
        environment,
        creator_login,
        final_status,

        ----------  booleans
        is_production,
        coalesce(final_status in ('failure', 'error'), false) as is_failed_attempt,
        is_successful,
        coalesce(
            is_production and successful_deployed_at = repository_baseline_deployed_at,
            false
        ) as is_baseline,

        ----------  timestamps (UTC)
        created_at,
        final_status_at,
        successful_deployed_at as deployed_at,
        repository_baseline_deployed_at

    from with_baseline

)

select * from final
