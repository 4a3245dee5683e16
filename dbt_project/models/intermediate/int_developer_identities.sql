-- Identity resolution: every known identity (e-mail, GitHub login, Jira account) of a developer of the
-- team mapping, one row per (identity_type, identity_value), values lower-cased for matching.
-- E-mails come from the mapping itself, and from PR commits whose GitHub login belongs to a developer
-- (their other e-mail addresses, e.g. GitHub noreply ones). The mapping wins over what commits teach,
-- and an e-mail that commits tie to more than one developer is left out as ambiguous.

with

team_members as (

    select * from {{ ref('stg_org__team_members') }}

),

pull_request_commits as (

    select * from {{ ref('stg_github__pull_request_commits') }}

),

mapped_identities as (

    select developer_id, 'email' as identity_type, lower(email) as identity_value
    from team_members
    where email is not null

    union all

    select developer_id, 'github_login' as identity_type, lower(github_login) as identity_value
    from team_members
    where github_login is not null

    union all

    select developer_id, 'jira_account_id' as identity_type, lower(jira_account_id) as identity_value
    from team_members
    where jira_account_id is not null

),

commit_emails_by_login as (

    select distinct
        mapped_identities.developer_id,
        lower(pull_request_commits.author_email) as identity_value
    from pull_request_commits
    inner join mapped_identities
        on mapped_identities.identity_type = 'github_login'
        and mapped_identities.identity_value = lower(pull_request_commits.author_login)
    where pull_request_commits.author_email is not null

),

unambiguous_commit_emails as (

    select identity_value, min(developer_id) as developer_id
    from commit_emails_by_login
    group by identity_value
    having count(distinct developer_id) = 1

),

learned_identities as (

    select
        unambiguous_commit_emails.developer_id,
        'email' as identity_type,
        unambiguous_commit_emails.identity_value
    from unambiguous_commit_emails
    left join mapped_identities
        on mapped_identities.identity_type = 'email'
        and mapped_identities.identity_value = unambiguous_commit_emails.identity_value
    where mapped_identities.developer_id is null

),

all_identities as (

    select developer_id, identity_type, identity_value, 'team_mapping' as identity_source
    from mapped_identities

    union all

    select developer_id, identity_type, identity_value, 'github_commit' as identity_source
    from learned_identities

),

final as (

    select

        ----------  ids
        {{ md5_key(['identity_type', 'identity_value'], "':'") }} as identity_id,
        developer_id,

        ----------  identity
        identity_type,
        identity_value,
        identity_source

    from all_identities

)

select * from final
