-- Developers: one row per person of the team mapping (identities merged by int_developer_identities),
-- with the week their Claude Code use became sustained.

with

team_members as (

    select * from {{ ref('stg_org__team_members') }}

),

ai_adoption as (

    select * from {{ ref('int_ai_adoption') }}

),

final as (

    select

        ----------  ids
        team_members.developer_id,
        team_members.team_id,

        ----------  identities
        team_members.display_name,
        team_members.github_login,
        team_members.email,
        team_members.jira_account_id,

        ----------  attributes
        team_members.seniority,
        team_members.role,

        ----------  AI adoption
        ai_adoption.ai_adopted_at,
        ai_adoption.first_used_on as ai_first_used_on

    from team_members
    left join ai_adoption
        on ai_adoption.developer_id = team_members.developer_id

)

select * from final
