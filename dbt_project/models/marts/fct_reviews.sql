-- Submitted pull request reviews, one row each (pending reviews are left out: nobody else sees them),
-- with the reviewer resolved to a developer. Reviews of PRs not landed (yet) are left out as well.

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

joined as (

    select
        reviews.*,
        pull_requests.author_login as pull_request_author_login,
        pull_requests.created_at as pull_request_created_at,
        identities.developer_id as reviewer_developer_id
    from reviews
    inner join pull_requests
        on pull_requests.pull_request_id = reviews.pull_request_id
    left join identities
        on identities.identity_type = 'github_login'
        and identities.identity_value = lower(reviews.reviewer_login)
    where reviews.submitted_at is not null

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
        submitted_at < pull_request_created_at as is_before_pull_request_created

    from joined

)

select * from final
