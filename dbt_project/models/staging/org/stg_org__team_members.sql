-- One row per person of the team mapping (keyed by lower-cased e-mail): the latest landed version.

with

source as (

    select * from {{ source('org', 'team_members') }}

),

latest as (

    {{ deduplicate('source', partition_by='lower(email)', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(['lower(email)'], "''") }} as developer_id,
        cast(team_id as {{ dbt.type_string() }}) as team_id,
        cast(parent_team_id as {{ dbt.type_string() }}) as parent_team_id,

        ----------  identities
        lower(cast(email as {{ dbt.type_string() }})) as email,
        cast(github_login as {{ dbt.type_string() }}) as github_login,
        cast(jira_account_id as {{ dbt.type_string() }}) as jira_account_id,

        ----------  text
        cast(display_name as {{ dbt.type_string() }}) as display_name,
        cast(team_name as {{ dbt.type_string() }}) as team_name,
        cast(role as {{ dbt.type_string() }}) as role,
        cast(seniority as {{ dbt.type_string() }}) as seniority,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
