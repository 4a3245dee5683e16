-- A table, not a view: a dozen data tests and several marts read it, and recomputing it for each costs
-- more than storing it (dbt build of `medium`: bench/results.md).
{{ config(materialized='table') }}

-- The stages of each pull request (DESIGN section 5), one row per PR:
--   coding  = review_ready_at - first_commit_at pickup    = first_review_at - review_ready_at
--   review  = merged_at - first_review_at       deploy    = first_deployed_at - merged_at
--   cycle   = merged_at - first_commit_at       lead time = first_deployed_at - first_commit_at
-- A stage whose start or end is missing is null (never 0); one that comes out negative (clock skew,
-- a review submitted before the PR was opened) is null and the PR gets has_negative_stage.
-- Reviews count only when submitted and by someone other than the author: with a ghost author (or a
-- ghost reviewer) the two cannot be the same known person, so the review counts.
-- review_ready_at is when the PR asked for review: created_at, or for a PR opened as draft its
-- ready_for_review event (DESIGN section 5: pickup "from ready-for-review if the PR started as draft").
-- Coding ends there too (time in draft is coding time), so coding + pickup + review = cycle still
-- holds; a PR that is still a draft has neither (null), as it has not asked for review yet.
-- inputs_extracted_at is the latest landing of the PR, its commits and its reviews (its ready_for_review
-- event lands with the PR): what fct_pull_requests' incremental build compares with its watermark.

with

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

reviews as (

    select * from {{ ref('stg_github__reviews') }}

),

pull_request_commits as (

    select * from {{ ref('stg_github__pull_request_commits') }}

),

first_deployments as (

    select * from {{ ref('int_pull_request_first_deployment') }}

),

commit_facts as (

    select
        pull_request_id,
        min(authored_at) as first_commit_at,
        count(*) as commit_count,
        {{ dbt.bool_or("lower(message) like '%co-authored-by: claude%'") }} as has_claude_coauthor_trailer
    from pull_request_commits
    group by pull_request_id

),

non_author_reviews as (

    select
        reviews.pull_request_id,
        reviews.state,
        reviews.submitted_at
    from reviews
    inner join pull_requests
        on pull_requests.pull_request_id = reviews.pull_request_id
    where reviews.submitted_at is not null
        and not (
            reviews.reviewer_login is not null
            and pull_requests.author_login is not null
            and lower(reviews.reviewer_login) = lower(pull_requests.author_login)
        )

),

-- the latest landing of each PR's own inputs: the PR, any commit, any review (submitted or not)
input_landings as (

    select pull_request_id, max(extracted_at) as inputs_extracted_at
    from (
        select pull_request_id, extracted_at from pull_requests
        union all
        select pull_request_id, extracted_at from pull_request_commits
        union all
        select pull_request_id, extracted_at from reviews
    ) as landings
    group by pull_request_id

),

review_facts as (

    select
        pull_request_id,
        min(submitted_at) as first_review_at,
        min(case when state = 'APPROVED' then submitted_at end) as approved_at,
        count(*) as review_count
    from non_author_reviews
    group by pull_request_id

),

stage_times as (

    select
        pull_requests.pull_request_id,
        commit_facts.first_commit_at,
        pull_requests.created_at,
        pull_requests.ready_for_review_at,
        case
            when pull_requests.is_draft then null
            else coalesce(pull_requests.ready_for_review_at, pull_requests.created_at)
        end as review_ready_at,
        review_facts.first_review_at,
        review_facts.approved_at,
        pull_requests.merged_at,
        first_deployments.first_deployed_at,
        first_deployments.first_deployment_id,
        first_deployments.deployment_link_reason,
        coalesce(review_facts.review_count, 0) as review_count,
        coalesce(commit_facts.commit_count, 0) as commit_count,
        coalesce(commit_facts.has_claude_coauthor_trailer, false) as has_claude_coauthor_trailer,
        input_landings.inputs_extracted_at
    from pull_requests
    left join commit_facts
        on commit_facts.pull_request_id = pull_requests.pull_request_id
    left join input_landings
        on input_landings.pull_request_id = pull_requests.pull_request_id
    left join review_facts
        on review_facts.pull_request_id = pull_requests.pull_request_id
    left join first_deployments
        on first_deployments.pull_request_id = pull_requests.pull_request_id

),

raw_stage_hours as (

    select
        *,
        {{ hours_between('first_commit_at', 'review_ready_at') }} as raw_coding_hours,
        {{ hours_between('review_ready_at', 'first_review_at') }} as raw_pickup_hours,
        {{ hours_between('first_review_at', 'merged_at') }} as raw_review_hours,
        {{ hours_between('merged_at', 'first_deployed_at') }} as raw_deploy_hours,
        {{ hours_between('first_commit_at', 'merged_at') }} as raw_cycle_hours,
        {{ hours_between('first_commit_at', 'first_deployed_at') }} as raw_lead_time_hours
    from stage_times

),

final as (

    select

        ----------  ids
        pull_request_id,
        first_deployment_id,

        ----------  stage boundaries (UTC)
        first_commit_at,
        created_at,
        ready_for_review_at,
        review_ready_at,
        first_review_at,
        approved_at,
        merged_at,
        first_deployed_at,

        ----------  stage durations (hours; null when missing or negative)
        case when raw_coding_hours >= 0 then raw_coding_hours end as coding_hours,
        case when raw_pickup_hours >= 0 then raw_pickup_hours end as pickup_hours,
        case when raw_review_hours >= 0 then raw_review_hours end as review_hours,
        case when raw_deploy_hours >= 0 then raw_deploy_hours end as deploy_hours,
        case when raw_cycle_hours >= 0 then raw_cycle_hours end as cycle_hours,
        case when raw_lead_time_hours >= 0 then raw_lead_time_hours end as lead_time_hours,

        ----------  counts
        review_count,
        commit_count,

        ----------  flags and reasons
        coalesce(
            raw_coding_hours < 0
            or raw_pickup_hours < 0
            or raw_review_hours < 0
            or raw_deploy_hours < 0
            or raw_cycle_hours < 0
            or raw_lead_time_hours < 0,
            false
        ) as has_negative_stage,
        has_claude_coauthor_trailer,
        deployment_link_reason,

        ----------  landing lineage
        inputs_extracted_at

    from raw_stage_hours

)

select * from final
