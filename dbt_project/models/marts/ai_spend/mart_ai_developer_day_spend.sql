-- AI spend per developer and UTC day, one source per developer-day (DESIGN section 5, "Overlapping AI
-- sources"): the rule lives in int_ai_usage_developer_days (the Admin API report where it has that
-- developer-day, else the transcripts); this mart keeps the spend side of it for the budgets, the
-- alerts and the report. Spend that no developer of the team mapping owns has no developer-day here.

with

developer_days as (

    select * from {{ ref('int_ai_usage_developer_days') }}

),

final as (

    select

        ----------  ids
        {{ md5_key(['developer_id', 'date_day'], "'|'") }} as developer_day_id,
        developer_id,

        ----------  grain
        date_day,

        ----------  spend (USD), from the one source chosen
        cast(sum(coalesce(cost_usd, 0)) as {{ type_double() }}) as cost_usd,

        ----------  lineage
        min(source) as source

    from developer_days
    where developer_id is not null
    group by developer_id, date_day

)

select * from final
