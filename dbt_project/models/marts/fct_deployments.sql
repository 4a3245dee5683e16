-- GitHub deployments of every environment, one row each, with final status and, for successful
-- production deployments after a repository's baseline, the number of merged PRs they shipped.

with

deployments as (

    select * from {{ ref('int_deployments') }}

),

first_deployments as (

    select * from {{ ref('int_pull_request_first_deployment') }}

),

shipped_changes as (

    select
        first_deployment_id as deployment_id,
        count(*) as change_count
    from first_deployments
    where first_deployment_id is not null
    group by first_deployment_id

),

joined as (

    select
        deployments.*,
        shipped_changes.change_count
    from deployments
    left join shipped_changes
        on shipped_changes.deployment_id = deployments.deployment_id

),

final as (

    select

        ----------  ids
        deployment_id,
        deployment_source_id as source_id,
        repository_id,

        ----------  text
        repository_full_name,
        environment,
        ref,
        commit_sha as sha,
        creator_login,
        final_status as status,

        ----------  timestamps (UTC)
        created_at,
        deployed_at,

        ----------  numerics
        case
            when is_production and is_successful and not is_baseline
                then coalesce(change_count, 0)
        end as change_count,

        ----------  flags
        is_production,
        is_successful,
        is_failure,
        is_baseline

    from joined

)

select * from final
