-- Teams of the team mapping, one row per team. A parent team that has no members of its own is kept
-- (team_name null) so that every parent_team_id resolves.

with

team_members as (

    select * from {{ ref('stg_org__team_members') }}

),

member_teams as (

    select
        team_id,
        min(team_name) as team_name,
        min(parent_team_id) as parent_team_id,
        count(*) as member_count
    from team_members
    group by team_id

),

parent_only_teams as (

    select distinct
        team_members.parent_team_id as team_id,
        cast(null as {{ dbt.type_string() }}) as team_name,
        cast(null as {{ dbt.type_string() }}) as parent_team_id,
        0 as member_count
    from team_members
    left join member_teams
        on member_teams.team_id = team_members.parent_team_id
    where team_members.parent_team_id is not null
        and member_teams.team_id is null

),

final as (

    select team_id, team_name, parent_team_id, member_count from member_teams
    union all
    select team_id, team_name, parent_team_id, member_count from parent_only_teams

)

select * from final
