{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='deployment_id',
        on_schema_change='append_new_columns'
    )
}}

-- GitHub deployments of every environment, one row each, with final status and, for successful
-- production deployments after a repository's baseline, the number of merged PRs they shipped.
-- Change failure (DESIGN section 5): a successful production deployment is_failure when an incident
-- is linked to it (int_incident_deployment_links) or it was rolled back (int_deployment_rollbacks).
-- A failed attempt (final status failure or error) changed nothing: is_failed_attempt, not is_failure.
--
-- Incremental (delete+insert on deployment_id). A row's value has two kinds of input:
--   * its own records: the deployment, its statuses and its commits. The row is re-selected when any of
--     them landed since the table's newest extracted_at minus var('incremental_lookback_hours')
--     (macros/incremental_filters.sql), or when it is not in the table yet. extracted_at is the newest
--     landing of the three.
--   * other rows and settings: change_count (which PRs it shipped first depends on the PRs, on the
--     earlier deployments of the repository and on its baseline), is_baseline (a late deployment older
--     than the baseline moves it), the rollback columns (a later deployment of an older commit, or a late
--     one slotted in between), the incident columns (a late or re-landed incident of any source, its
--     explicit link, the link window var, pagerduty.service_repositories, a new repository that makes a
--     name ambiguous), and is_production (var deployment_environment). These are never inferred from
--     landing times: every build computes them for all deployments (their intermediate models are
--     computed whole by either path) and re-selects each row whose value differs from the stored one
--     (macros/incremental_changes.sql). So a setting that rewrites old rows needs no fingerprint: it
--     rewrites exactly the rows whose value it changes.
-- Together these re-select every row whose value can differ from a full build's; beyond those, only the
-- rows the lookback re-selects (own records landed shortly before the newest landing).

with

deployments as (

    select * from {{ ref('int_deployments') }}

),

deployment_records as (

    select * from {{ ref('stg_github__deployments') }}

),

deployment_statuses as (

    select * from {{ ref('stg_github__deployment_statuses') }}

),

deployment_commits as (

    select * from {{ ref('stg_github__deployment_commits') }}

),

first_deployments as (

    select * from {{ ref('int_pull_request_first_deployment') }}

),

incident_links as (

    select * from {{ ref('int_incident_deployment_links') }}

),

incidents as (

    select * from {{ ref('int_incidents') }}

),

rollbacks as (

    select * from {{ ref('int_deployment_rollbacks') }}

),

caused_incidents as (

    select
        deployment_id,
        incident_count,
        caused_incident_id
    from (
        select
            incident_links.caused_by_deployment_id as deployment_id,
            incident_links.incident_id as caused_incident_id,
            count(*) over (partition by incident_links.caused_by_deployment_id) as incident_count,
            row_number() over (
                partition by incident_links.caused_by_deployment_id
                order by incidents.created_at, incident_links.incident_id
            ) as incident_rank
        from incident_links
        inner join incidents
            on incidents.incident_id = incident_links.incident_id
        where incident_links.caused_by_deployment_id is not null
    ) as ranked
    where incident_rank = 1

),

shipped_changes as (

    select
        first_deployment_id as deployment_id,
        count(*) as change_count
    from first_deployments
    where first_deployment_id is not null
    group by first_deployment_id

),

-- the newest landing of a deployment's own records: the deployment, its statuses, its commits
landings as (

    select deployment_id, max(extracted_at) as extracted_at
    from (
        select deployment_id, extracted_at from deployment_records
        union all
        select deployment_id, extracted_at from deployment_statuses
        union all
        select deployment_id, extracted_at from deployment_commits
    ) as landed_records
    group by deployment_id

),

joined as (

    select
        deployments.*,
        landings.extracted_at,
        shipped_changes.change_count,
        caused_incidents.caused_incident_id,
        coalesce(caused_incidents.incident_count, 0) as incident_count,
        rollbacks.rolled_back_by_deployment_id,
        rollbacks.rolled_back_at
    from deployments
    left join shipped_changes
        on shipped_changes.deployment_id = deployments.deployment_id
    left join caused_incidents
        on caused_incidents.deployment_id = deployments.deployment_id
    left join rollbacks
        on rollbacks.deployment_id = deployments.deployment_id
    left join landings
        on landings.deployment_id = deployments.deployment_id

),

final as (

    select

        ----------  ids
        deployment_id,
        deployment_source_id as source_id,
        repository_id,

        ----------  text
        repository_full_name,
        environment,
        ref,
        commit_sha as sha,
        creator_login,
        final_status as status,

        ----------  change failure
        caused_incident_id,
        rolled_back_by_deployment_id,

        ----------  timestamps (UTC)
        created_at,
        deployed_at,
        rolled_back_at,

        ----------  numerics
        case
            when is_production and is_successful and not is_baseline
                then coalesce(change_count, 0)
        end as change_count,

        incident_count,

        ----------  flags
        is_production,
        is_successful,
        coalesce(
            is_production and is_successful
            and (caused_incident_id is not null or rolled_back_by_deployment_id is not null),
            false
        ) as is_failure,
        rolled_back_by_deployment_id is not null as is_rolled_back,
        is_failed_attempt,
        is_baseline,

        ----------  landing lineage (drives the incremental builds)
        extracted_at

    from joined

)

{% if is_incremental() %}

-- the columns that other rows and settings can change, as computed now and as stored
, stored as (

    select * from {{ this }}

),

selected as (

    select computed.*
    from final as computed
    left join stored
        on stored.deployment_id = computed.deployment_id
    where computed.extracted_at > {{ incremental_watermark() }}
        or stored.deployment_id is null
        or {{ any_value_differs([
            'is_production', 'is_baseline', 'change_count',
            'caused_incident_id', 'incident_count',
            'rolled_back_by_deployment_id', 'rolled_back_at',
        ]) }}

)

select * from selected

{% else %}

select * from final

{% endif %}
