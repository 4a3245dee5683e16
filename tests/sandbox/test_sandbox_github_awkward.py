"""The sandbox's awkward GitHub cases, served in GitHub's formats and recorded in the ground truth.

Drafts: a PR opened as draft shows `draft: true` until its `ready_for_review` event (REST: the
repository's issue events; GraphQL: `ReadyForReviewEvent` in `timelineItems`, `isDraft`). Bots:
dependabot[bot] and renovate[bot] (type "Bot"; GraphQL names them by app slug). Reverts: as GitHub's
revert button writes them. Self-reviews: COMMENTED reviews by the author. Deleted accounts: the ghost user (REST) or null (GraphQL).
Quiet weeks and weekends.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import requests

from sandbox.clock import quiet_weeks
from sandbox.metrics import link_deployments, pull_request_facts
from sandbox.organisation import generate_organisation

REPO = "hoco/payments-service"
HEADERS = {"Authorization": "token t"}


def _ts(value) -> pd.Timestamp | None:  # noqa: ANN001
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def _prs(truth, repository: str | None = None) -> pd.DataFrame:
    """pull_requests.csv with the new time columns parsed too (UTC), optionally one repository by number."""
    rows = truth("pull_requests.csv")
    rows["ready_for_review_at"] = pd.to_datetime(rows["ready_for_review_at"], utc=True)
    return rows if repository is None else rows[rows["repository"] == repository].set_index("number")


def _all_pages(url: str) -> list[dict]:
    items = []
    while url:
        response = requests.get(url, headers=HEADERS, timeout=30)
        response.raise_for_status()
        items += response.json()
        url = response.links.get("next", {}).get("url")
    return items


def _graphql(server, query: str, variables: dict | None = None) -> dict:
    response = requests.post(f"{server.url}/graphql", json={"query": query, "variables": variables or {}},
                             headers=HEADERS, timeout=30)
    response.raise_for_status()
    return response.json()


# --- drafts ---------------------------------------------------------------------------------------------


def test_drafts_in_the_ground_truth(org, truth):
    rows = _prs(truth)
    opened = rows[rows["opened_as_draft"]]
    ready = opened[opened["ready_for_review_at"].notna()]
    still = rows[rows["is_draft"]]
    assert 0.08 < len(opened) / len(rows) < 0.25 and len(ready) > 50 and len(still) > 5
    assert not rows.loc[~rows["opened_as_draft"], "ready_for_review_at"].notna().any()
    assert set(still.index) <= set(opened.index) and still["ready_for_review_at"].isna().all()
    # pickup runs from ready-for-review, and coding up to it, so the stages still add up to cycle
    merged = ready[ready["merged_at"].notna()]
    hours = lambda a, b: (merged[b] - merged[a]).dt.total_seconds() / 3600  # noqa: E731
    assert (merged["pickup_hours"] - hours("ready_for_review_at", "first_review_at")).abs().max() < 1e-9
    assert (merged["coding_hours"] - hours("first_commit_at", "ready_for_review_at")).abs().max() < 1e-9
    total = merged["coding_hours"] + merged["pickup_hours"] + merged["review_hours"]
    assert (total - merged["cycle_hours"]).abs().max() < 1e-6
    assert (merged["created_at"] < merged["ready_for_review_at"]).all()
    # a draft that is never marked ready gets no review and has no coding or pickup stage
    assert (still["review_count"] == 0).all() and still["coding_hours"].isna().all()
    assert still["merged_at"].isna().all()


def test_truth_facts_use_the_ready_time(org):
    pulls = [pr for pr in org.pull_requests[REPO] if pr.ready_for_review_at is not None and pr.reviews]
    links = link_deployments(org.main_commits[REPO], org.deployments[REPO])
    for pr in pulls[:20]:
        facts = pull_request_facts(pr, links)
        assert facts.review_ready_at == pr.ready_for_review_at > pr.created_at
        assert facts.pickup_hours == (facts.first_review_at - pr.ready_for_review_at).total_seconds() / 3600


def test_rest_pulls_and_issues_carry_the_draft_flag(server, truth):
    rows = _prs(truth, REPO)
    pulls = _all_pages(f"{server.url}/repos/{REPO}/pulls?state=all&per_page=100")
    assert {p["number"]: p["draft"] for p in pulls} == rows["is_draft"].to_dict()
    issues = _all_pages(f"{server.url}/repos/{REPO}/issues?state=all&per_page=100")
    assert {i["number"]: i["draft"] for i in issues if "pull_request" in i} == rows["is_draft"].to_dict()


def test_repository_issue_events_give_every_ready_time(server, truth):
    rows = _prs(truth, REPO)
    events = _all_pages(f"{server.url}/repos/{REPO}/issues/events?per_page=100")
    times = [_ts(e["created_at"]) for e in events]
    assert times == sorted(times, reverse=True)  # newest first, so a sync can stop at its cursor
    ready = {e["issue"]["number"]: _ts(e["created_at"]) for e in events if e["event"] == "ready_for_review"}
    expected = rows["ready_for_review_at"].dropna()
    assert ready == expected.to_dict() and len(ready) > 5
    # GitHub's issue event object, with the issue it belongs to (a PR's carries `pull_request`)
    event = next(e for e in events if e["event"] == "ready_for_review")
    assert set(event) >= {"id", "node_id", "url", "actor", "event", "commit_id", "commit_url", "created_at", "issue"}
    assert event["url"].endswith(f"/repos/{REPO}/issues/events/{event['id']}")
    assert event["actor"]["login"] == rows.loc[event["issue"]["number"], "author_login"]
    assert "pull_request" in event["issue"] and event["commit_id"] is None
    merged = {e["issue"]["number"]: e["commit_id"] for e in events if e["event"] == "merged"}
    assert merged == rows["merge_commit_sha"].dropna().to_dict()
    closed = {e["issue"]["number"] for e in events if e["event"] == "closed"}
    assert closed >= set(rows.index[rows["closed_at"].notna()])


def test_graphql_is_draft_and_ready_for_review_events(server, truth):
    rows = _prs(truth, REPO)
    query = """
    query($after: String) { repository(owner: "hoco", name: "payments-service") {
      pullRequests(first: 100, after: $after) {
        nodes { number isDraft
          timelineItems(itemTypes: [READY_FOR_REVIEW_EVENT], first: 5) {
            totalCount nodes { __typename ... on ReadyForReviewEvent { createdAt actor { login } } } } }
        pageInfo { hasNextPage endCursor } } } }"""
    nodes, after = [], None
    while True:
        page = _graphql(server, query, {"after": after})["data"]["repository"]["pullRequests"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert {n["number"]: n["isDraft"] for n in nodes} == rows["is_draft"].to_dict()
    ready = {n["number"]: _ts(n["timelineItems"]["nodes"][0]["createdAt"]) for n in nodes
             if n["timelineItems"]["totalCount"]}
    assert ready == rows["ready_for_review_at"].dropna().to_dict()
    item = next(n for n in nodes if n["timelineItems"]["totalCount"])["timelineItems"]["nodes"][0]
    assert item["__typename"] == "ReadyForReviewEvent" and item["actor"]["login"]


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("nodes { createdAt }", "Selections can't be made directly on unions"),
        ("nodes { ...Ready }", "Named fragments are not supported"),
    ],
)
def test_graphql_timeline_is_a_union(server, selection, message):
    query = ('{ repository(owner: "hoco", name: "payments-service") { pullRequest(number: 1) { '
             f"timelineItems(first: 5) {{ {selection} }} }} }} }}")
    errors = _graphql(server, query)["errors"]
    assert message in errors[0]["message"]


def test_graphql_timeline_filters_by_item_type(server, org):
    pr = next(p for p in org.pull_requests[REPO] if p.ready_for_review_at is not None and p.merged_at is not None)
    query = ('query($n: Int!) { repository(owner: "hoco", name: "payments-service") { pullRequest(number: $n) { '
             "all: timelineItems(first: 10) { nodes { __typename } } "
             "merged: timelineItems(first: 10, itemTypes: [MERGED_EVENT]) { nodes { ... on MergedEvent { createdAt } } } "
             "} } }")
    data = _graphql(server, query, {"n": pr.number})["data"]["repository"]["pullRequest"]
    assert [n["__typename"] for n in data["all"]["nodes"]] == ["ReadyForReviewEvent", "MergedEvent", "ClosedEvent"]
    assert [_ts(n["createdAt"]) for n in data["merged"]["nodes"]] == [
        pd.Timestamp(pr.merged_at)]


# --- bots -------------------------------------------------------------------------------------------------


def test_dependency_bots_open_pull_requests(org, truth):
    rows = _prs(truth)
    bots = rows[rows["is_bot"]]
    assert set(bots["author_login"]) == {"dependabot[bot]", "renovate[bot]"}
    assert set(bots["repository"]) == set(org.repositories)
    weeks = org.config.weeks * len(org.repositories)
    assert 0.5 * weeks < len(bots) < 1.1 * weeks  # about 0.8 a week per repository, as configured
    assert bots["merged_at"].notna().mean() > 0.6 and bots["review_count"].ge(1).mean() > 0.6
    assert (bots["created_at"].dt.day_of_week >= 5).any()  # bots keep no office hours
    assert not rows.loc[~rows["is_bot"], "author_login"].str.endswith("[bot]").any()


def test_rest_shows_bots_as_github_does(gh, org):
    repo = gh.get_repo(REPO)
    pr = next(p for p in org.pull_requests[REPO] if p.author_login == "dependabot[bot]")
    pulled = repo.get_pull(pr.number)
    assert (pulled.user.login, pulled.user.type, pulled.user.id) == ("dependabot[bot]", "Bot", 49699333)
    assert pulled.title.startswith("Bump ") and pulled.head.ref.startswith("dependabot/pip/")
    [commit] = list(pulled.get_commits())
    assert commit.author.login == "dependabot[bot]" and commit.author.type == "Bot"
    assert commit.commit.author.email == "49699333+dependabot[bot]@users.noreply.github.com"
    renovate = next(p for p in org.pull_requests[REPO] if p.author_login == "renovate[bot]")
    assert repo.get_pull(renovate.number).head.ref.startswith("renovate/")
    assert gh.get_user("renovate[bot]").type == "Bot"


def test_graphql_names_bots_by_app_slug(server, org):
    pr = next(p for p in org.pull_requests[REPO] if p.author_login == "renovate[bot]")
    query = ('query($n: Int!) { repository(owner: "hoco", name: "payments-service") { pullRequest(number: $n) { '
             "author { login __typename } commits(first: 5) { nodes { commit { author { email user { login } } } } } "
             "} } }")
    data = _graphql(server, query, {"n": pr.number})["data"]["repository"]["pullRequest"]
    assert data["author"] == {"login": "renovate", "__typename": "Bot"}  # GraphQL: no "[bot]" suffix
    # GitActor.user is a User: null for a bot's commit, which only its noreply address names
    assert data["commits"]["nodes"][0]["commit"]["author"] == {
        "email": "29139614+renovate[bot]@users.noreply.github.com", "user": None}


# --- reverts ----------------------------------------------------------------------------------------------


def test_reverts_are_written_the_way_githubs_revert_button_writes_them(gh, org, truth):
    rows = _prs(truth)
    reverts = rows[rows["is_revert"]]
    assert 20 < len(reverts) < 0.06 * len(rows)
    by_key = rows.set_index(["repository", "number"])
    for row in reverts.itertuples():
        original = by_key.loc[(row.repository, int(row.reverted_pr_number))]
        assert pd.notna(original["merged_at"]) and row.created_at > original["merged_at"]
        assert row.head_branch == f"revert-{int(row.reverted_pr_number)}-{original['head_branch']}"
    assert not rows.loc[~rows["is_revert"], "reverted_pr_number"].notna().any()
    row = reverts[reverts["repository"] == REPO].iloc[0]
    pulled = gh.get_repo(REPO).get_pull(int(row["number"]))
    original = gh.get_repo(REPO).get_pull(int(row["reverted_pr_number"]))
    assert pulled.title == f'Revert "{original.title}"'
    assert pulled.body == f"Reverts {REPO}#{original.number}"
    assert pulled.head.ref == f"revert-{original.number}-{original.head.ref}"
    assert pulled.additions == original.deletions and pulled.deletions == original.additions


# --- self-reviews ---------------------------------------------------------------------------------------


def test_authors_comment_on_their_own_pull_requests_before_the_first_review(gh, org, truth):
    rows = _prs(truth).set_index(["repository", "number"])
    with_self = rows[rows["self_review_count"] > 0]
    assert 0.04 < len(with_self) / len(rows) < 0.15
    pr = next(p for p in org.pull_requests[REPO] if p.author_login not in org.deleted_logins
              and any(r.reviewer_login == p.author_login for r in p.reviews))
    reviews = list(gh.get_repo(REPO).get_pull(pr.number).get_reviews())
    own = [r for r in reviews if r.user.login == pr.author_login]
    others = [r for r in reviews if r.user.login != pr.author_login]
    assert [r.state for r in own] == ["COMMENTED"]  # GitHub forbids approving your own PR
    assert own[0].submitted_at < min(r.submitted_at for r in others)
    row = rows.loc[(REPO, pr.number)]
    assert row["review_count"] == len(others)  # not a review ...
    assert _ts(min(r.submitted_at for r in others)) == row["first_review_at"]  # ... nor pickup
    assert reviews == sorted(reviews, key=lambda r: r.submitted_at)


# --- deleted accounts ------------------------------------------------------------------------------------


def _deleted_work(org) -> tuple[str, str, object, object]:
    """A deleted developer's merged PR in some repository, and a PR of someone else they reviewed."""
    [login] = sorted(org.deleted_logins)
    for repository, pulls in org.pull_requests.items():
        own = next((p for p in pulls if p.author_login == login and p.merged_at is not None), None)
        reviewed = next((p for p in pulls if p.author_login != login
                         and any(r.reviewer_login == login for r in p.reviews)), None)
        if own is not None and reviewed is not None:
            return login, repository, own, reviewed
    raise AssertionError("the deleted developer has no merged PR and review in one repository")


def test_one_never_adopter_deleted_their_account(org, truth):
    rows = _prs(truth)
    [login] = sorted(org.deleted_logins)  # 4% of 30 developers, at least one
    assert org.developer(login).planned_adoption_week is None
    deleted = rows[rows["author_account_deleted"]]
    assert set(deleted["author_login"]) == {login} and len(deleted) > 20


def test_rest_shows_a_deleted_account_as_github_does(gh, org):
    login, repository, own, reviewed = _deleted_work(org)
    repo = gh.get_repo(repository)
    pulled = repo.get_pull(own.number)
    assert (pulled.user.login, pulled.user.id) == ("ghost", 10137)  # the PR's `user`: the ghost user
    commits = list(pulled.get_commits())
    assert all(c.author is None for c in commits)  # no account behind the commit any more ...
    assert {c.commit.author.email for c in commits} == {org.developer(login).email}  # ... git kept the e-mail
    review = next(r for r in reviewed.reviews if r.reviewer_login == login)
    served = next(r for r in repo.get_pull(reviewed.number).get_reviews() if r.id == review.review_id)
    assert served.user is None  # a review's `user` is null


def test_graphql_answers_null_for_a_deleted_account(server, org):
    login, repository, own, reviewed = _deleted_work(org)
    owner, name = repository.split("/")
    query = (f'query($n: Int!) {{ repository(owner: "{owner}", name: "{name}") {{ pullRequest(number: $n) {{ '
             "author { login } reviews(first: 20) { nodes { fullDatabaseId author { login } } } "
             "commits(first: 5) { nodes { commit { author { email user { login } } } } } } } }")
    own_data = _graphql(server, query, {"n": own.number})["data"]["repository"]["pullRequest"]
    assert own_data["author"] is None
    assert {n["commit"]["author"]["user"] is None for n in own_data["commits"]["nodes"]} == {True}
    other = _graphql(server, query, {"n": reviewed.number})["data"]["repository"]["pullRequest"]
    authors = {int(n["fullDatabaseId"]): n["author"] for n in other["reviews"]["nodes"]}
    review = next(r for r in reviewed.reviews if r.reviewer_login == login)
    assert authors[review.review_id] is None and other["author"] == {"login": reviewed.author_login}


def test_a_deleted_authors_comment_on_their_own_pr_counts_as_a_review(org, truth):
    """Nobody can tell the ghost's comment on the ghost's PR from a colleague's review: the truth says what
    the data can show."""
    rows = _prs(truth).set_index(["repository", "number"])
    links = {repo: link_deployments(org.main_commits[repo], org.deployments[repo]) for repo in org.repositories}
    cases = [p for repo, pulls in org.pull_requests.items() for p in pulls
             if p.author_login in org.deleted_logins and any(r.reviewer_login == p.author_login for r in p.reviews)]
    assert cases
    for pr in cases:
        row = rows.loc[(pr.repository, pr.number)]
        assert row["self_review_count"] == 0 and row["review_count"] == len(pr.reviews)
        assert pull_request_facts(pr, links[pr.repository]).review_count == len(pr.reviews) - 1


# --- quiet weeks and weekly seasonality -------------------------------------------------------------------


def test_quiet_holiday_weeks_and_weekends():
    """A calendar over summer and Christmas: each team's summer week and the last two weeks of December
    are quiet (people open about a quarter of their usual PRs; bots keep going), and weekends are quiet."""
    org = generate_organisation("small", seed=42, start_date=dt.date(2025, 6, 2), weeks=32)
    people = [pr for pulls in org.pull_requests.values() for pr in pulls if not pr.is_bot]
    team_of = {d.login: d.team_id for d in org.developers}
    christmas = {dt.date(2025, 12, 22), dt.date(2025, 12, 29)}
    quiet_total, usual_total, usual_weeks = 0, 0, 0
    for team in org.config.teams:
        quiet = quiet_weeks(org.config, org.seed, team)
        assert christmas <= quiet and len(quiet) == 3  # and one summer week
        [summer] = quiet - christmas
        assert dt.date(2025, 6, 15) <= summer <= dt.date(2025, 8, 31)
        weekly: dict[dt.date, int] = {}
        for pr in people:
            if team_of[pr.author_login] == team:
                monday = pr.created_at.date() - dt.timedelta(days=pr.created_at.weekday())
                weekly[monday] = weekly.get(monday, 0) + 1
        quiet_total += sum(weekly.get(m, 0) for m in quiet)
        usual = [n for m, n in weekly.items() if m not in quiet and dt.date(2025, 6, 30) <= m <= dt.date(2025, 12, 8)]
        usual_total, usual_weeks = usual_total + sum(usual), usual_weeks + len(usual)
    quiet_mean = quiet_total / (3 * len(org.config.teams))
    assert 0.1 < quiet_mean / (usual_total / usual_weeks) < 0.45  # about a quarter of a usual week
    # weekly seasonality: work starts on weekdays; what spills into a weekend is far rarer per day
    assert all(min(c.authored_at for c in pr.commits).weekday() < 5 for pr in people if not pr.reverted_pr_number)
    weekend = sum(pr.created_at.weekday() >= 5 for pr in people)
    assert 0 < weekend / 2 < 0.25 * (len(people) - weekend) / 5
    bots = [pr for pulls in org.pull_requests.values() for pr in pulls if pr.is_bot]
    assert any(pr.created_at.date() - dt.timedelta(days=pr.created_at.weekday()) in christmas for pr in bots)
