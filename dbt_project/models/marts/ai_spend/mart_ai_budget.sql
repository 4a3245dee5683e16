-- AI spend against the monthly budgets of the configuration (DESIGN section 5), per scope and month:
-- every team (budgeted or not, so `impact spend` shows them all) and every role or person that has a
-- budget, for each month from the first with spend to the month of the "as of" day.
--
-- "As of" is the last day with spend data in the warehouse, not the wall clock: the mart is then a
-- function of the data alone (a rebuild tomorrow of the same landing gives the same numbers, and a
-- source that lags a day does not make the month look cheaper). The var `ai_budget_as_of`
-- ('YYYY-MM-DD') overrides it. Projection: spend to date / elapsed days x days in the month; past
-- months are complete (elapsed = all their days), so their projection is their spend.

with

developer_days as (

    select * from {{ ref('mart_ai_developer_day_spend') }}

),

developers as (

    select * from {{ ref('dim_developer') }}

),

teams as (

    select * from {{ ref('dim_team') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

budgets as (

    select * from {{ ref('stg_org__ai_budgets') }}

),

bounds as (

    select
        min(date_day) as first_day,
        {% if var('ai_budget_as_of', '') -%}
        cast('{{ var("ai_budget_as_of") }}' as date) as as_of_date
        {%- else -%}
        max(date_day) as as_of_date
        {%- endif %}
    from developer_days
    having count(*) > 0

),

days as (

    {{ date_spine('bounds', 'bounds.first_day', 'bounds.as_of_date') }}

),

months as (

    select distinct cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from days

),

calendar as (

    select
        months.month_start,
        bounds.as_of_date,
        {{ dbt.datediff('months.month_start', dbt.dateadd('month', 1, 'months.month_start'), 'day') }} as days_in_month,
        case
            when months.month_start = cast({{ dbt.date_trunc('month', 'bounds.as_of_date') }} as date)
                then {{ dbt.datediff('months.month_start', 'bounds.as_of_date', 'day') }} + 1
            else {{ dbt.datediff('months.month_start', dbt.dateadd('month', 1, 'months.month_start'), 'day') }}
        end as elapsed_days,
        months.month_start = cast({{ dbt.date_trunc('month', 'bounds.as_of_date') }} as date) as is_current_month
    from months
    cross join bounds

),

-- who belongs to which scope: every team of the mapping, plus the roles and people with a budget
team_scopes as (

    select team_id as scope, team_id from teams
    union
    select scope, scope as team_id from budgets where scope_kind = 'team'

),

scopes as (

    select 'team' as scope_kind, scope, team_id, cast(null as {{ dbt.type_string() }}) as developer_id
    from team_scopes

    union all

    select 'role', scope, cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }})
    from budgets
    where scope_kind = 'role'

    union all

    select 'person', budgets.scope, cast(null as {{ dbt.type_string() }}), min(identities.developer_id)
    from budgets
    left join identities
        on identities.identity_value = lower(budgets.scope)
    where budgets.scope_kind = 'person'
    group by budgets.scope

),

members as (

    select 'team' as scope_kind, team_id as scope, developer_id from developers where team_id is not null
    union all
    select 'role', budgets.scope, developers.developer_id
    from budgets
    inner join developers
        on lower(developers.role) = lower(budgets.scope)
    where budgets.scope_kind = 'role'
    union all
    select 'person', scope, developer_id from scopes where scope_kind = 'person' and developer_id is not null

),

scope_spend as (

    select
        members.scope_kind,
        members.scope,
        cast({{ dbt.date_trunc('month', 'developer_days.date_day') }} as date) as month_start,
        sum(developer_days.cost_usd) as spend_usd
    from members
    inner join developer_days
        on developer_days.developer_id = members.developer_id
    cross join bounds
    where developer_days.date_day <= bounds.as_of_date
    group by 1, 2, 3

),

joined as (

    select
        scopes.scope_kind,
        scopes.scope,
        scopes.team_id,
        scopes.developer_id,
        calendar.month_start,
        calendar.as_of_date,
        calendar.days_in_month,
        calendar.elapsed_days,
        calendar.is_current_month,
        budgets.monthly_budget_usd as budget_usd,
        coalesce(scope_spend.spend_usd, 0) as spend_to_date_usd
    from scopes
    cross join calendar
    left join budgets
        on budgets.scope_kind = scopes.scope_kind
        and lower(budgets.scope) = lower(scopes.scope)
    left join scope_spend
        on scope_spend.scope_kind = scopes.scope_kind
        and scope_spend.scope = scopes.scope
        and scope_spend.month_start = calendar.month_start

),

final as (

    select

        ----------  ids
        {{ md5_key(['scope_kind', 'lower(scope)', 'month_start'], "'|'") }} as budget_month_id,
        scope_kind,
        scope,
        team_id,
        developer_id,

        ----------  grain
        month_start,
        as_of_date,
        is_current_month,

        ----------  days
        cast(days_in_month as {{ dbt.type_int() }}) as days_in_month,
        cast(elapsed_days as {{ dbt.type_int() }}) as elapsed_days,

        ----------  money (USD)
        cast(budget_usd as {{ type_double() }}) as budget_usd,
        cast(spend_to_date_usd as {{ type_double() }}) as spend_to_date_usd,
        cast(spend_to_date_usd * days_in_month / elapsed_days as {{ type_double() }}) as projected_month_usd,

        ----------  flags
        coalesce(budget_usd is not null and spend_to_date_usd * days_in_month / elapsed_days > budget_usd, false)
            as over_budget

    from joined

)

select * from final
