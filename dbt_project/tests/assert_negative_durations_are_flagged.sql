{{ config(meta={'dagster': {'ref': {'name': 'fct_pull_requests'}}}) }}

-- A duration that comes out negative in the source (clock skew, a review before the PR was opened, a
-- Jira resolution before creation, an incident resolved before it started) is nulled AND flagged,
-- never silently hidden. Returns every record with a negative span and no flag.

select 'pull_request' as record_kind, pull_request_id as record_id
from {{ ref('fct_pull_requests') }}
where not has_negative_stage
    and (
        first_commit_at > created_at
        or first_review_at < created_at
        or merged_at < first_review_at
        or first_deployed_at < merged_at
        or merged_at < first_commit_at
    )

union all

select 'jira_issue', issue_id
from {{ ref('fct_issues') }}
where not has_negative_duration
    and (resolved_at < created_at or resolved_at < started_at)

union all

select 'incident', incident_id
from {{ ref('fct_incidents') }}
where not has_negative_duration
    and resolved_at < created_at
