-- A table, not a view: a dozen data tests and several marts read it, and recomputing it for each costs
-- more than storing it (dbt build of `medium`: bench/results.md).
{{ config(materialized='table') }}

-- Claude Code transcript lines (one per counted API response) tied to a developer, a repository and a
-- pull request (DESIGN section 5, "AI cost per pull request"):
--   * developer: the line's developer_email through int_developer_identities (null when unmatched);
--   * repository: first `claude_code.repo_paths` (stg_org__repo_paths): a cwd equal to or under a
--     configured path or glob goes to its repository, the longest pattern winning; else the last path
--     component of cwd equal to exactly one repository's name (the part of full_name after the slash,
--     case-insensitive); a name shared by two repositories stays null;
--   * pull request: of that repository, git_branch = the PR's head branch, and the line's time between
--     first_commit_at - 7 days (created_at when no commit is known) and merged_at, else closed_at, else
--     open-ended. Lines on the repository's default branch (the base branch most of its PRs target)
--     are never attributed. When several PRs match, the earliest created wins (then the lowest number).
-- Unattributed lines keep pull_request_id null: their cost is reported, never spread.
-- Cost: the line's own (costUSD, or priced at landing); a line landed without one is priced here from
-- the model_pricing seed (longest model prefix, latest effective_date on or before the line's day, else
-- the earliest known price of that prefix; cache writes without a 5m/1h split priced as 5m).
-- cost_source says which.

with

messages as (

    select * from {{ ref('stg_claude_code__transcript_messages') }}

),

identities as (

    select * from {{ ref('int_developer_identities') }}

),

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

stages as (

    select * from {{ ref('int_pull_request_stages') }}

),

deployments as (

    select * from {{ ref('stg_github__deployments') }}

),

repo_paths as (

    select * from {{ ref('stg_org__repo_paths') }}

),

repositories as (

    select repository_full_name from pull_requests
    union
    select repository_full_name from deployments

),

repository_names as (

    select
        repository_full_name,
        lower({{ dbt.split_part('repository_full_name', "'/'", 2) }}) as repository_name
    from repositories

),

unique_repository_names as (

    select repository_name, min(repository_full_name) as repository_full_name
    from repository_names
    group by repository_name
    having count(*) = 1

),

base_branch_counts as (

    select repository_full_name, base_branch, count(*) as pull_request_count
    from pull_requests
    where base_branch is not null
    group by 1, 2

),

default_branches as (

    select repository_full_name, base_branch as default_branch
    from (
        select
            repository_full_name,
            base_branch,
            row_number() over (
                partition by repository_full_name
                order by pull_request_count desc, base_branch
            ) as branch_rank
        from base_branch_counts
    ) as ranked
    where branch_rank = 1

),

pull_request_windows as (

    select
        pull_requests.pull_request_id,
        pull_requests.repository_full_name,
        pull_requests.pull_request_number,
        pull_requests.head_branch,
        pull_requests.created_at,
        {{ dbt.dateadd('day', -7, 'coalesce(stages.first_commit_at, pull_requests.created_at)') }} as window_start,
        coalesce(pull_requests.merged_at, pull_requests.closed_at) as window_end
    from pull_requests
    left join stages
        on stages.pull_request_id = pull_requests.pull_request_id
    where pull_requests.head_branch is not null

),

pricing as (

    select * from {{ ref('model_pricing') }}

),

seed_prices as (

    select
        message_key,
        (
            messages.input_tokens * pricing.input_usd_per_mtok
            + messages.output_tokens * pricing.output_usd_per_mtok
            + coalesce(messages.cache_creation_5m_tokens, messages.cache_creation_tokens) * pricing.cache_write_5m_usd_per_mtok
            + coalesce(messages.cache_creation_1h_tokens, 0) * pricing.cache_write_1h_usd_per_mtok
            + messages.cache_read_tokens * pricing.cache_read_usd_per_mtok
        ) / 1000000.0 as seed_cost_usd,
        row_number() over (
            partition by messages.message_key
            order by
                {{ dbt.length('pricing.model') }} desc,
                case when pricing.effective_date <= cast(messages.message_at as date) then 0 else 1 end,
                case when pricing.effective_date <= cast(messages.message_at as date) then pricing.effective_date end desc nulls last,
                pricing.effective_date
        ) as price_rank
    from messages
    inner join pricing
        on messages.model like {{ dbt.concat(['pricing.model', "'%'"]) }}
    where messages.cost_usd is null

),

lines as (

    select
        messages.*,
        -- the last path component of cwd (trailing slashes ignored)
        lower(
            {{ dbt.split_part(rtrim_characters('messages.cwd', "'/'"), "'/'", -1) }}
        ) as cwd_name,
        coalesce(messages.cost_usd, seed_prices.seed_cost_usd) as priced_cost_usd,
        case
            when messages.cost_usd is not null then messages.cost_source
            when seed_prices.seed_cost_usd is not null then 'pricing_seed'
            else 'unpriced'
        end as priced_cost_source
    from messages
    left join seed_prices
        on seed_prices.message_key = messages.message_key
        and seed_prices.price_rank = 1

),

-- the configured path (or glob) a line's cwd lies in; the longest pattern is the most specific
configured_repositories as (

    select message_key, repository_full_name
    from (
        select
            lines.message_key,
            repo_paths.repository_full_name,
            row_number() over (
                partition by lines.message_key
                order by repo_paths.pattern_length desc, repo_paths.path_pattern
            ) as path_rank
        from lines
        inner join repo_paths
            on {{ rtrim_characters('lines.cwd', "'/'") }} like repo_paths.like_pattern
            or lines.cwd like {{ dbt.concat(['repo_paths.like_pattern', "'/%'"]) }}
    ) as ranked
    where path_rank = 1

),

with_repository as (

    select
        lines.*,
        coalesce(configured_repositories.repository_full_name, unique_repository_names.repository_full_name)
            as repository_full_name,
        default_branches.default_branch
    from lines
    left join configured_repositories
        on configured_repositories.message_key = lines.message_key
    left join unique_repository_names
        on unique_repository_names.repository_name = lines.cwd_name
    left join default_branches
        on default_branches.repository_full_name
            = coalesce(configured_repositories.repository_full_name, unique_repository_names.repository_full_name)

),

candidate_pull_requests as (

    select
        with_repository.message_key,
        pull_request_windows.pull_request_id,
        row_number() over (
            partition by with_repository.message_key
            order by pull_request_windows.created_at, pull_request_windows.pull_request_number
        ) as pull_request_rank
    from with_repository
    inner join pull_request_windows
        on pull_request_windows.repository_full_name = with_repository.repository_full_name
        and pull_request_windows.head_branch = with_repository.git_branch
        and with_repository.message_at >= pull_request_windows.window_start
        and (pull_request_windows.window_end is null or with_repository.message_at <= pull_request_windows.window_end)
    where with_repository.default_branch is null
        or with_repository.git_branch <> with_repository.default_branch

),

final as (

    select

        ----------  ids
        with_repository.message_key,
        with_repository.dedup_key,
        with_repository.session_id,
        identities.developer_id,
        case
            when with_repository.repository_full_name is not null
                then {{ md5_key(['with_repository.repository_full_name'], "''") }}
        end as repository_id,
        candidate_pull_requests.pull_request_id,

        ----------  text
        with_repository.developer_email,
        with_repository.repository_full_name,
        with_repository.cwd,
        with_repository.git_branch,
        with_repository.model,

        ----------  flags
        with_repository.is_sidechain,

        ----------  numerics
        with_repository.input_tokens,
        with_repository.output_tokens,
        with_repository.cache_read_tokens,
        with_repository.cache_creation_tokens,
        cast(with_repository.priced_cost_usd as {{ type_double() }}) as cost_usd,
        with_repository.priced_cost_source as cost_source,

        ----------  timestamps (UTC)
        with_repository.message_at

    from with_repository
    left join identities
        on identities.identity_type = 'email'
        and identities.identity_value = with_repository.developer_email
    left join candidate_pull_requests
        on candidate_pull_requests.message_key = with_repository.message_key
        and candidate_pull_requests.pull_request_rank = 1

)

select * from final
