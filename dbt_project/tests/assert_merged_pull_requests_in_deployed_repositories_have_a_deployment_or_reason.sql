{{ config(meta={'dagster': {'ref': {'name': 'fct_pull_requests'}}}) }}

-- Every merged PR of a repository with successful production deployments has a first deployment, or
-- a reason why not (before_deployment_history, not_yet_deployed); `deployed` always has its deployment.
-- Returns the PRs that break this.

with

deployed_repositories as (

    select distinct repository_id
    from {{ ref('fct_deployments') }}
    where is_production and is_successful

)

select
    pull_requests.pull_request_id,
    pull_requests.deployment_link_reason,
    pull_requests.first_deployment_id
from {{ ref('fct_pull_requests') }} as pull_requests
inner join deployed_repositories
    on deployed_repositories.repository_id = pull_requests.repository_id
where pull_requests.merged_at is not null
    and not coalesce(
        (pull_requests.deployment_link_reason = 'deployed'
            and pull_requests.first_deployment_id is not null
            and pull_requests.first_deployed_at is not null)
        or (pull_requests.deployment_link_reason in ('before_deployment_history', 'not_yet_deployed')
            and pull_requests.first_deployment_id is null),
        false
    )
