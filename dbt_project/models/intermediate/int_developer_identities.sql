-- Identity resolution: every known identity (e-mail, GitHub login, Jira account) of a developer of the
-- team mapping, one row per (identity_type, identity_value), values lower-cased for matching.
-- E-mails come from the mapping itself, and from PR commits whose GitHub login belongs to a developer
-- (their other e-mail addresses, e.g. GitHub noreply ones). The mapping wins over what commits teach,
-- and an e-mail that commits tie to more than one developer is left out as ambiguous.
-- Safe rules beyond the mapping (identity_source says which):
--   github_commit   an e-mail of a commit whose GitHub login belongs to a developer;
--   github_noreply  a GitHub noreply address (`12345+login@users.noreply.github.com` or
--                   `login@users.noreply.github.com`) whose login belongs to a developer, even on a
--                   commit GitHub could not tie to an account;
--   jira_email      a Jira account id whose issues show an assignee e-mail the mapping knows.

with

team_members as (

    select * from {{ ref('stg_org__team_members') }}

),

pull_request_commits as (

    select * from {{ ref('stg_github__pull_request_commits') }}

),

jira_issues as (

    select * from {{ ref('stg_jira__issues') }}

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

commit_emails as (

    select distinct
        lower(author_login) as author_login,
        lower(author_email) as author_email,
        case
            when lower(author_email) like '%@users.noreply.github.com' then
                case
                    when {{ dbt.split_part('lower(author_email)', "'@'", 1) }} like '%+%'
                        then {{ dbt.split_part(dbt.split_part('lower(author_email)', "'@'", 1), "'+'", 2) }}
                    else {{ dbt.split_part('lower(author_email)', "'@'", 1) }}
                end
        end as noreply_login
    from pull_request_commits
    where author_email is not null

),

commit_emails_by_login as (

    select
        mapped_identities.developer_id,
        commit_emails.author_email as identity_value,
        case
            when commit_emails.noreply_login = mapped_identities.identity_value then 'github_noreply'
            else 'github_commit'
        end as identity_source
    from commit_emails
    inner join mapped_identities
        on mapped_identities.identity_type = 'github_login'
        and (
            mapped_identities.identity_value = commit_emails.author_login
            or mapped_identities.identity_value = commit_emails.noreply_login
        )

),

unambiguous_commit_emails as (

    select
        identity_value,
        min(developer_id) as developer_id,
        -- a noreply form is the stronger evidence: it names the login itself
        max(identity_source) as identity_source
    from commit_emails_by_login
    group by identity_value
    having count(distinct developer_id) = 1

),

learned_identities as (

    select
        unambiguous_commit_emails.developer_id,
        'email' as identity_type,
        unambiguous_commit_emails.identity_value,
        unambiguous_commit_emails.identity_source
    from unambiguous_commit_emails
    left join mapped_identities
        on mapped_identities.identity_type = 'email'
        and mapped_identities.identity_value = unambiguous_commit_emails.identity_value
    where mapped_identities.developer_id is null

),

jira_accounts_by_email as (

    select
        lower(jira_issues.assignee_account_id) as identity_value,
        min(mapped_identities.developer_id) as developer_id
    from jira_issues
    inner join mapped_identities
        on mapped_identities.identity_type = 'email'
        and mapped_identities.identity_value = jira_issues.assignee_email
    where jira_issues.assignee_account_id is not null
    group by lower(jira_issues.assignee_account_id)
    having count(distinct mapped_identities.developer_id) = 1

),

learned_jira_accounts as (

    select
        jira_accounts_by_email.developer_id,
        'jira_account_id' as identity_type,
        jira_accounts_by_email.identity_value,
        'jira_email' as identity_source
    from jira_accounts_by_email
    left join mapped_identities
        on mapped_identities.identity_type = 'jira_account_id'
        and mapped_identities.identity_value = jira_accounts_by_email.identity_value
    where mapped_identities.developer_id is null

),

all_identities as (

    select developer_id, identity_type, identity_value, 'team_mapping' as identity_source
    from mapped_identities

    union all

    select developer_id, identity_type, identity_value, identity_source
    from learned_identities

    union all

    select developer_id, identity_type, identity_value, identity_source
    from learned_jira_accounts

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
