-- One row per status change of a Jira issue (changelog history item with field "status"): the latest
-- landed version of each (issue, history, target status).

with

source as (

    select * from {{ source('jira', 'status_transitions') }}

),

latest as (

    {{ deduplicate('source', partition_by='issue_id, history_id, to_status', order_by='_extracted_at desc, _batch_id desc') }}

),

renamed as (

    select

        ----------  ids
        {{ md5_key(["'jira'", 'issue_id', 'history_id', 'to_status'], "':'") }} as status_transition_id,
        {{ md5_key(["'jira'", 'issue_id'], "':'") }} as issue_id,
        cast(issue_id as {{ dbt.type_string() }}) as issue_source_id,
        cast(issue_key as {{ dbt.type_string() }}) as issue_key,
        cast(history_id as {{ dbt.type_string() }}) as history_id,
        cast(author_account_id as {{ dbt.type_string() }}) as author_account_id,

        ----------  text
        cast(from_status as {{ dbt.type_string() }}) as from_status,
        cast(to_status as {{ dbt.type_string() }}) as to_status,
        cast(to_status_category as {{ dbt.type_string() }}) as to_status_category,

        ----------  timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as transitioned_at,

        ----------  landing lineage
        _batch_id as batch_id,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from latest

)

select * from renamed
