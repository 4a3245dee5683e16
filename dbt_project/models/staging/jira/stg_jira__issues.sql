-- One row per Jira issue: the latest landed version (by _extracted_at, then updated_at). Jira's
-- offset times (+0100) were converted to UTC wall time by the landing.

with

source as (

    select * from {{ source('jira', 'issues') }}

),

latest as (

    {{ deduplicate('source', partition_by='id', order_by='_extracted_at desc, updated_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(["'jira'", 'id'], "':'") }} as issue_id,
        cast(id as {{ dbt.type_string() }}) as issue_source_id,
        cast(key as {{ dbt.type_string() }}) as issue_key,
        cast(project_key as {{ dbt.type_string() }}) as project_key,
        cast(linked_deployment_id as {{ dbt.type_bigint() }}) as linked_deployment_source_id,
        cast(pagerduty_incident_id as {{ dbt.type_string() }}) as referenced_pagerduty_incident_id,

        ----------  people
        cast(assignee_account_id as {{ dbt.type_string() }}) as assignee_account_id,
        lower(cast(assignee_email as {{ dbt.type_string() }})) as assignee_email,
        cast(reporter_account_id as {{ dbt.type_string() }}) as reporter_account_id,

        ----------  text
        cast(issue_type as {{ dbt.type_string() }}) as issue_type,
        cast(summary as {{ dbt.type_string() }}) as summary,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(status_category as {{ dbt.type_string() }}) as status_category,
        cast(priority as {{ dbt.type_string() }}) as priority,
        cast(sprint as {{ dbt.type_string() }}) as sprint,
        cast(components as {{ dbt.type_string() }}) as components,

        ----------  flags and numerics
        cast(is_incident as {{ dbt.type_boolean() }}) as is_incident,
        cast(story_points as {{ type_double() }}) as story_points,

        ----------  timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(resolution_date as {{ dbt.type_timestamp() }}) as resolution_date,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
