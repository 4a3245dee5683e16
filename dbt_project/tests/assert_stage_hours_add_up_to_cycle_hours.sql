{{ config(meta={'dagster': {'ref': {'name': 'fct_pull_requests'}}}) }}

-- DESIGN section 5: coding + pickup + review = cycle (first commit -> created -> first review ->
-- merge) for every merged PR whose stages are all known. Returns the PRs where they do not add up.

select
    pull_request_id,
    coding_hours,
    pickup_hours,
    review_hours,
    cycle_hours
from {{ ref('fct_pull_requests') }}
where coding_hours is not null
    and pickup_hours is not null
    and review_hours is not null
    and cycle_hours is not null
    and abs(coding_hours + pickup_hours + review_hours - cycle_hours) > 1e-6
