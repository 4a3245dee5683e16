{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='review_id',
        on_schema_change='append_new_columns'
    )
}}

-- Submitted pull request reviews, one row each (pending reviews are left out: nobody else sees them),
-- with the reviewer resolved to a developer. Reviews of PRs not landed (yet) are left out as well.
-- Incremental (macros/incremental_filters.sql): a build re-selects the reviews whose review or PR was
-- landed since the table's newest extracted_at minus the lookback, or all of them when identity
-- resolution changed; delete+insert on review_id replaces their old versions.

with

reviews as (

    select * from {{ ref('stg_github__reviews') }}

),

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

identity_state as (

    {{ identity_fingerprint_sql() }}

),

joined as (

    select
        reviews.*,
        pull_requests.author_login as pull_request_author_login,
        pull_requests.created_at as pull_request_created_at,
        case
            when pull_requests.extracted_at > reviews.extracted_at then pull_requests.extracted_at
            else reviews.extracted_at
        end as landed_at,
        identities.developer_id as reviewer_developer_id
    from reviews
    inner join pull_requests
        on pull_requests.pull_request_id = reviews.pull_request_id
    left join identities
        on identities.identity_type = 'github_login'
        and identities.identity_value = lower(reviews.reviewer_login)
    where reviews.submitted_at is not null
    {% if is_incremental() %}
        and (
            reviews.extracted_at > {{ incremental_watermark() }}
            or pull_requests.extracted_at > {{ incremental_watermark() }}
            or {{ identity_changed() }}
        )
    {% endif %}

),

final as (

    select

        ----------  ids
        {{ md5_key(["'github'", 'review_source_id'], "':'") }} as review_id,
        review_source_id as source_id,
        pull_request_id,
        {{ md5_key(['repository_full_name'], "''") }} as repository_id,
        reviewer_developer_id,

        ----------  text
        reviewer_login,
        state,

        ----------  timestamps (UTC)
        submitted_at,

        ----------  flags
        coalesce(lower(reviewer_login) = lower(pull_request_author_login), false) as is_author_review,
        submitted_at < pull_request_created_at as is_before_pull_request_created,

        ----------  landing lineage (drives the incremental builds)
        landed_at as extracted_at,
        (select identity_fingerprint from identity_state) as identity_fingerprint

    from joined

)

select * from final
