-- One row per GitHub issue carrying an incident label: the latest landed version (by _extracted_at, then updated_at).

with

source as (

    select * from {{ source('github', 'issues') }}

),

latest as (

    {{ deduplicate('source', partition_by='id', order_by='_extracted_at desc, updated_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(["'github'", 'id'], "':'") }} as incident_issue_id,
        cast(id as {{ dbt.type_bigint() }}) as issue_source_id,
        cast(repository as {{ dbt.type_string() }}) as repository_full_name,
        cast(number as {{ dbt.type_int() }}) as issue_number,
        cast(linked_deployment_id as {{ dbt.type_bigint() }}) as linked_deployment_source_id,
        cast(pagerduty_incident_id as {{ dbt.type_string() }}) as referenced_pagerduty_incident_id,

        ----------  text
        cast(title as {{ dbt.type_string() }}) as title,
        cast(state as {{ dbt.type_string() }}) as state,
        cast(state_reason as {{ dbt.type_string() }}) as state_reason,
        cast(author_login as {{ dbt.type_string() }}) as author_login,
        cast(labels as {{ dbt.type_string() }}) as labels,

        ----------  timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
