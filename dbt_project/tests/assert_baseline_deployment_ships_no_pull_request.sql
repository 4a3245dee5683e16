{{ config(meta={'dagster': {'ref': {'name': 'fct_pull_requests'}}}) }}

-- DESIGN section 5: a repository's baseline deployment (first successful production deployment)
-- gives no PR a first_deployed_at, and no PR merged at or before it is linked to any deployment.
-- Returns the offending PRs.

with

pull_requests as (

    select * from {{ ref('fct_pull_requests') }}

),

deployments as (

    select * from {{ ref('fct_deployments') }}

),

baselines as (

    select repository_id, deployment_id, deployed_at
    from deployments
    where is_baseline

)

select
    pull_requests.pull_request_id,
    pull_requests.first_deployment_id,
    pull_requests.merged_at,
    baselines.deployed_at as baseline_deployed_at
from pull_requests
inner join baselines
    on baselines.repository_id = pull_requests.repository_id
where pull_requests.first_deployment_id = baselines.deployment_id
    or (pull_requests.merged_at <= baselines.deployed_at and pull_requests.first_deployed_at is not null)
    or (pull_requests.merged_at <= baselines.deployed_at
        and pull_requests.deployment_link_reason <> 'before_deployment_history')
