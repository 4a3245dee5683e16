-- GitHub deployments of every environment, one row each, with final status and, for successful
-- production deployments after a repository's baseline, the number of merged PRs they shipped.
-- Change failure (DESIGN section 5): a successful production deployment is_failure when an incident
-- is linked to it (int_incident_deployment_links) or it was rolled back (int_deployment_rollbacks).
-- A failed attempt (final status failure or error) changed nothing: is_failed_attempt, not is_failure.

with

deployments as (

    select * from {{ ref('int_deployments') }}

),

first_deployments as (

    select * from {{ ref('int_pull_request_first_deployment') }}

),

incident_links as (

    select * from {{ ref('int_incident_deployment_links') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

rollbacks as (

    select * from {{ ref('int_deployment_rollbacks') }}

),

caused_incidents as (

    select
        deployment_id,
        incident_count,
        caused_incident_id
    from (
        select
            incident_links.caused_by_deployment_id as deployment_id,
            incident_links.incident_id as caused_incident_id,
            count(*) over (partition by incident_links.caused_by_deployment_id) as incident_count,
            row_number() over (
                partition by incident_links.caused_by_deployment_id
                order by incidents.created_at, incident_links.incident_id
            ) as incident_rank
        from incident_links
        inner join incidents
            on incidents.incident_id = incident_links.incident_id
        where incident_links.caused_by_deployment_id is not null
    ) as ranked
    where incident_rank = 1

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
        shipped_changes.change_count,
        caused_incidents.caused_incident_id,
        coalesce(caused_incidents.incident_count, 0) as incident_count,
        rollbacks.rolled_back_by_deployment_id,
        rollbacks.rolled_back_at
    from deployments
    left join shipped_changes
        on shipped_changes.deployment_id = deployments.deployment_id
    left join caused_incidents
        on caused_incidents.deployment_id = deployments.deployment_id
    left join rollbacks
        on rollbacks.deployment_id = deployments.deployment_id

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

        ----------  change failure
        caused_incident_id,
        rolled_back_by_deployment_id,

        ----------  timestamps (UTC)
        created_at,
        deployed_at,
        rolled_back_at,

        ----------  numerics
        case
            when is_production and is_successful and not is_baseline
                then coalesce(change_count, 0)
        end as change_count,

        incident_count,

        ----------  flags
        is_production,
        is_successful,
        coalesce(
            is_production and is_successful
            and (caused_incident_id is not null or rolled_back_by_deployment_id is not null),
            false
        ) as is_failure,
        rolled_back_by_deployment_id is not null as is_rolled_back,
        is_failed_attempt,
        is_baseline

    from joined

)

select * from final
