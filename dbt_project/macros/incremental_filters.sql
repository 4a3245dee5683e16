{#
    Incremental facts (fct_reviews, fct_ai_usage_daily, fct_pull_requests, fct_ai_sessions) re-select
    only what may have changed since the last build, judged by landing time, not by the record's own
    dates (a late review of an old PR, a restated actor-day of last month):
      * rows whose source records were landed (extracted_at) after the newest extracted_at already in
        the table minus var('incremental_lookback_hours', default 72): the lookback catches batches
        that were extracted earlier but landed later (parallel extractions, retries);
      * every row when identity resolution changed (the team mapping, a learned e-mail): the
        fingerprint of int_developer_identities differs from the one stored in the table.
    The strategy is delete+insert on the fact's key, so a re-selected row replaces its old version.
    fct_pull_requests and fct_ai_sessions also depend on other entities and on configuration: they add
    value comparisons with the stored row (any_value_differs, macros/incremental_changes.sql) and a
    configuration fingerprint (config_changed);
    their models say which rule catches which change.
#}

{% macro incremental_watermark(extracted_at_column='extracted_at') -%}
    (
        select {{ dbt.dateadd('hour', -1 * var('incremental_lookback_hours', 72),
                               'coalesce(max(' ~ extracted_at_column ~ "), cast('1900-01-01' as " ~ dbt.type_timestamp() ~ '))') }}
        from {{ this }}
    )
{%- endmacro %}

{# One text value per state of int_developer_identities: changes whenever any identity or its owner does. #}
{% macro identity_fingerprint_sql() -%}
    select
        md5(coalesce(
            {{ dbt.listagg(dbt.concat(['identity_id', "':'", 'developer_id']), "','", 'order by identity_id') }},
            ''
        )) as identity_fingerprint
    from {{ ref('int_developer_identities') }}
{%- endmacro %}

{# True when the fingerprint stored in the table differs from this build's (or the table has none yet). #}
{% macro fingerprint_changed(column, fingerprint_cte) -%}
    coalesce(
        (select max({{ column }}) from {{ this }})
            <> (select {{ column }} from {{ fingerprint_cte }}),
        true
    )
{%- endmacro %}

{% macro identity_changed(fingerprint_cte='identity_state') -%}
    {{ fingerprint_changed('identity_fingerprint', fingerprint_cte) }}
{%- endmacro %}

{#
    The configuration that rewrites old rows of fct_pull_requests and fct_ai_sessions without any of
    their records landing again: the model_pricing seed (the cost of lines landed without one), the
    `claude_code.repo_paths` of the configuration (stg_org__repo_paths), the vars adoption_min_days_per_week
    and deployment_environment, and which repository a transcript line can name: the set of repositories
    (a new `other/api` makes a cwd ending in `api` ambiguous) and each one's default branch (lines on it
    are never attributed). The last two mirror int_ai_session_lines' rule (repositories of PRs and
    deployments; the base branch most PRs target, ties by name): change them together.
    One text value per state; a change recomputes every row. Volatile parts (the snapshot's
    extracted_at) are left out, so a configuration landed again unchanged changes nothing.
#}
{% macro config_fingerprint_sql() -%}
    {%- set text = dbt.type_string() -%}
    {#- The same text on every engine: prices as fixed-scale decimals (a double's text differs, 3.0 / 3), entries
        ordered by their md5 (hex digits sort alike under any collation; punctuation does not) -#}
    {%- set price = 'decimal(18, 6)' -%}
    select
        md5({{ dbt.concat([
            "coalesce(pricing.entries, '')", "'|'",
            "coalesce(paths.entries, '')", "'|'",
            "coalesce(repositories.entries, '')", "'|'",
            "'adoption_min_days_per_week=" ~ var('adoption_min_days_per_week') ~ "'", "'|'",
            "'deployment_environment=" ~ (var('deployment_environment') | lower) ~ "'"
        ]) }}) as config_fingerprint
    from (
        select {{ dbt.listagg('entry', "','", 'order by md5(entry)') }} as entries
        from (
            select {{ dbt.concat([
                "coalesce(cast(model as " ~ text ~ "), '')", "':'",
                "coalesce(cast(effective_date as " ~ text ~ "), '')", "':'",
                "coalesce(cast(cast(input_usd_per_mtok as " ~ price ~ ") as " ~ text ~ "), '')", "':'",
                "coalesce(cast(cast(output_usd_per_mtok as " ~ price ~ ") as " ~ text ~ "), '')", "':'",
                "coalesce(cast(cast(cache_write_5m_usd_per_mtok as " ~ price ~ ") as " ~ text ~ "), '')", "':'",
                "coalesce(cast(cast(cache_write_1h_usd_per_mtok as " ~ price ~ ") as " ~ text ~ "), '')", "':'",
                "coalesce(cast(cast(cache_read_usd_per_mtok as " ~ price ~ ") as " ~ text ~ "), '')"
            ]) }} as entry
            from {{ ref('model_pricing') }}
        ) as pricing_entries
    ) as pricing
    cross join (
        select {{ dbt.listagg('entry', "','", 'order by md5(entry)') }} as entries
        from (
            select {{ dbt.concat([
                "coalesce(path_pattern, '')", "':'", "coalesce(repository_full_name, '')"
            ]) }} as entry
            from {{ ref('stg_org__repo_paths') }}
        ) as path_entries
    ) as paths
    cross join (
        select {{ dbt.listagg('entry', "','", 'order by md5(entry)') }} as entries
        from (
            select {{ dbt.concat([
                "known_repositories.repository_full_name", "':'", "coalesce(default_branches.default_branch, '')"
            ]) }} as entry
            from (
                select repository_full_name from {{ ref('stg_github__pull_requests') }}
                union
                select repository_full_name from {{ ref('stg_github__deployments') }}
            ) as known_repositories
            left join (
                select repository_full_name, base_branch as default_branch
                from (
                    select
                        repository_full_name,
                        base_branch,
                        row_number() over (
                            partition by repository_full_name
                            order by count(*) desc, base_branch
                        ) as branch_rank
                    from {{ ref('stg_github__pull_requests') }}
                    where base_branch is not null
                    group by repository_full_name, base_branch
                ) as ranked_branches
                where branch_rank = 1
            ) as default_branches
                on default_branches.repository_full_name = known_repositories.repository_full_name
            where known_repositories.repository_full_name is not null
        ) as repository_entries
    ) as repositories
{%- endmacro %}

{% macro config_changed(fingerprint_cte='config_state') -%}
    {{ fingerprint_changed('config_fingerprint', fingerprint_cte) }}
{%- endmacro %}

{#
    Whether this build can be incremental: the table exists (is_incremental()) and already has the
    columns the incremental filters read. A table built before the fact became incremental lacks its
    landing columns: the build then selects every row, delete+insert replaces them all and
    on_schema_change='append_new_columns' adds the new columns, so the next build is incremental.
#}
{% macro incremental_ready(required_columns) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- for column in required_columns -%}
        {%- if column | lower not in existing -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}
