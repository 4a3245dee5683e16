-- Repositories seen in pull requests, deployments or incident issues (int_repositories), one row
-- each. team_id is the team whose developers authored most of the repository's PRs (ties: lowest team_id); null when no PR author
-- resolves to a developer.

with

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

developers as (

    select * from {{ ref('stg_org__team_members') }}

),

repositories as (

    select repository_full_name from {{ ref('int_repositories') }}

),

authored_by_team as (

    select
        pull_requests.repository_full_name,
        developers.team_id,
        count(*) as pull_request_count
    from pull_requests
    inner join identities
        on identities.identity_type = 'github_login'
        and identities.identity_value = lower(pull_requests.author_login)
    inner join developers
        on developers.developer_id = identities.developer_id
    group by 1, 2

),

owning_team as (

    select repository_full_name, team_id
    from (
        select
            repository_full_name,
            team_id,
            row_number() over (
                partition by repository_full_name
                order by pull_request_count desc, team_id
            ) as team_rank
        from authored_by_team
    ) as ranked
    where team_rank = 1

),

final as (

    select

        ----------  ids
        {{ md5_key(['repositories.repository_full_name'], "''") }} as repository_id,
        owning_team.team_id,

        ----------  text
        repositories.repository_full_name as full_name

    from repositories
    left join owning_team
        on owning_team.repository_full_name = repositories.repository_full_name

)

select * from final
