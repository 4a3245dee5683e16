{{ config(meta={'dagster': {'ref': {'name': 'mart_ai_impact_panel'}}}) }}

-- Every PR authored by a known developer is counted once in mart_ai_impact_panel (the panel spans
-- all PR weeks), and every merged one once in prs_merged. Returns a row when the totals differ.

with

panel as (

    select
        sum(prs_opened) as prs_opened,
        sum(prs_merged) as prs_merged
    from {{ ref('mart_ai_impact_panel') }}

),

pull_requests as (

    select
        count(*) as prs_opened,
        sum(case when merged_at is not null then 1 else 0 end) as prs_merged
    from {{ ref('fct_pull_requests') }}
    where author_developer_id is not null

)

select
    panel.prs_opened as panel_prs_opened,
    pull_requests.prs_opened as fct_prs_opened,
    panel.prs_merged as panel_prs_merged,
    pull_requests.prs_merged as fct_prs_merged
from panel
cross join pull_requests
where coalesce(panel.prs_opened, 0) <> pull_requests.prs_opened
    or coalesce(panel.prs_merged, 0) <> coalesce(pull_requests.prs_merged, 0)
