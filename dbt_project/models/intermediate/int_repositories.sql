-- Every repository the warehouse knows (from pull requests, deployments, incident issues and the
-- configured pagerduty.service_repositories), with its short name (the part after the slash,
-- lower-cased) and whether that short name is unique: a path, a PagerDuty service or a Jira component
-- names a repository only when exactly one has that name.

with

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

deployments as (

    select * from {{ ref('stg_github__deployments') }}

),

incident_issues as (

    select * from {{ ref('stg_github__incident_issues') }}

),

service_map as (

    {{ pagerduty_service_repositories() }}

),

repositories as (

    select repository_full_name from pull_requests
    union
    select repository_full_name from deployments
    union
    select repository_full_name from incident_issues
    union
    select repository_full_name from service_map

),

named as (

    select
        repository_full_name,
        lower({{ dbt.split_part('repository_full_name', "'/'", 2) }}) as repository_name
    from repositories
    where repository_full_name is not null

),

final as (

    select

        ----------  ids
        {{ md5_key(['repository_full_name'], "''") }} as repository_id,
        repository_full_name,

        ----------  names
        repository_name,
        count(*) over (partition by repository_name) = 1 as is_name_unique

    from named

)

select * from final
