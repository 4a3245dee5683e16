-- When each pull request first reached production, and why not when it has not (DESIGN section 5).
-- A PR is deployed by the first successful production deployment whose shipped commits (the range
-- since the previous successful production deployment) contain its merge commit. The first
-- successful production deployment of a repository is its baseline: what it shipped is unknown, so it
-- deploys no PR, and PRs merged at or before it keep null with reason `before_deployment_history`
-- instead of all being linked to it (the lead-time skew of apache/incubator-devlake#8790).

with

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

deployments as (

    select * from {{ ref('int_deployments') }}

),

deployment_commits as (

    select * from {{ ref('stg_github__deployment_commits') }}

),

production_deployments as (

    select *
    from deployments
    where is_production and is_successful

),

repository_baselines as (

    select distinct
        repository_full_name,
        deployed_at as baseline_deployed_at
    from production_deployments
    where is_baseline

),

-- successful production deployments after the baseline, with the commits they shipped
shipping_deployments as (

    select
        production_deployments.deployment_id,
        production_deployments.repository_full_name,
        production_deployments.deployed_at,
        deployment_commits.commit_sha
    from production_deployments
    inner join deployment_commits
        on deployment_commits.deployment_id = production_deployments.deployment_id
    where not production_deployments.is_baseline

),

merged_pull_requests_shipped as (

    select
        pull_requests.pull_request_id,
        shipping_deployments.deployment_id,
        shipping_deployments.deployed_at,
        row_number() over (
            partition by pull_requests.pull_request_id
            order by shipping_deployments.deployed_at, shipping_deployments.deployment_id
        ) as shipment_rank
    from pull_requests
    inner join shipping_deployments
        on shipping_deployments.repository_full_name = pull_requests.repository_full_name
        and shipping_deployments.commit_sha = pull_requests.merge_commit_sha
    where pull_requests.merged_at is not null

),

first_shipments as (

    select pull_request_id, deployment_id, deployed_at
    from merged_pull_requests_shipped
    where shipment_rank = 1

),

linked as (

    select
        pull_requests.pull_request_id,
        pull_requests.merged_at,
        repository_baselines.baseline_deployed_at,
        first_shipments.deployment_id as shipped_by_deployment_id,
        first_shipments.deployed_at as shipped_at
    from pull_requests
    left join repository_baselines
        on repository_baselines.repository_full_name = pull_requests.repository_full_name
    left join first_shipments
        on first_shipments.pull_request_id = pull_requests.pull_request_id

),

reasoned as (

    select
        *,
        case
            when merged_at is null then 'not_merged'
            when baseline_deployed_at is null then 'no_deployment_history'
            when merged_at <= baseline_deployed_at then 'before_deployment_history'
            when shipped_at is null then 'not_yet_deployed'
            else 'deployed'
        end as deployment_link_reason
    from linked

),

final as (

    select

        ----------  ids
        pull_request_id,
        case
            when deployment_link_reason = 'deployed' then shipped_by_deployment_id
        end as first_deployment_id,

        ----------  text
        deployment_link_reason,

        ----------  timestamps (UTC)
        baseline_deployed_at as repository_baseline_deployed_at,
        case when deployment_link_reason = 'deployed' then shipped_at end as first_deployed_at

    from reasoned

)

select * from final
