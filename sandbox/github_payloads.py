"""The sandbox's world rendered as GitHub REST v3 JSON objects.

Every object carries absolute `url`s on the host (and path prefix) the request came in on, because
PyGithub completes lazy objects and builds follow-up requests from those URLs.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from urllib.parse import quote

from sandbox.entities import Commit, Deployment, DeploymentStatus, PullRequest, Repository, Review
from sandbox.incidents import incident_fix_pulls
from sandbox.organisation import Organisation
from sandbox.pull_requests import BOTS, root_sha
from sandbox.rng import stable_sha
from sandbox.web import iso

BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
#: what GitHub shows in place of a deleted account
GHOST = {"login": "ghost", "id": 10137, "type": "User"}
LABEL_COLORS = {"incident": "b60205", "severity:high": "d93f0b", "severity:low": "fbca04"}
WEB_FLOW = {"login": "web-flow", "id": 19864447, "type": "User"}
ORG_ID = 9_000_001


def node_id(kind: str, number: int | str) -> str:
    return f"{kind}_{stable_sha(kind, number)[:16]}"


@dataclasses.dataclass(frozen=True)
class IssueView:
    """What the issues endpoints show of an issue, or of a pull request (`pull_request_merged_at` is then
    its merge time or None; False marks a plain issue)."""

    issue_id: int
    number: int
    title: str
    body: str | None
    state: str
    state_reason: str | None
    author_login: str
    labels: tuple[str, ...]
    comments: int
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    pull_request_merged_at: dt.datetime | None | bool = False
    pull_request_draft: bool = False


@dataclasses.dataclass(frozen=True)
class IssueEvent:
    """One entry of `GET /repos/{o}/{r}/issues/events`: ready_for_review, merged or closed."""

    event_id: int
    number: int
    event: str
    actor_login: str
    created_at: dt.datetime
    commit_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Roots:
    """Where URLs point: `api` is the REST root (with /api/v3 on the GHES layout), `html` the web root."""

    api: str
    html: str


class GithubRenderer:
    def __init__(self, org: Organisation):
        self.org = org
        self.user_ids = {d.login: d.user_id for d in org.developers}
        self.repos = {r.full_name.lower(): r for r in org.repository_details}
        self.base_times = {
            name: [c.committed_at for c in commits] for name, commits in org.main_commits.items()
        }
        #: (repository, PR number) -> label names (hotfix PRs labelled as incidents)
        self.pull_labels: dict[tuple[str, int], tuple[str, ...]] = {
            key: ("incident",) for key in incident_fix_pulls(org.seed, org.incidents, org.pull_requests)
        }
        self.open_counts = {
            name: sum(1 for pr in pulls if pr.state == "open") for name, pulls in org.pull_requests.items()
        }

    # --- people and places ---

    def account(self, roots: Roots, login: str) -> dict | None:
        """A user where GitHub answers null for a deleted account (a review's `user`, a commit's `author`
        and `committer`); elsewhere REST shows the ghost user (`user`)."""
        return None if login in self.org.deleted_logins else self.user(roots, login)

    def user(self, roots: Roots, login: str) -> dict:
        if login in self.org.deleted_logins:
            login = GHOST["login"]
        if login == BOT["login"]:
            ident = BOT
        elif login == GHOST["login"]:
            ident = GHOST
        elif login in BOTS:
            ident = {"login": login, "id": BOTS[login][0], "type": "Bot"}
        elif login == WEB_FLOW["login"]:
            ident = WEB_FLOW
        elif login == self.org.github_org:
            ident = {"login": login, "id": ORG_ID, "type": "Organization"}
        else:
            ident = {"login": login, "id": self.user_ids.get(login, 0), "type": "User"}
        url = f"{roots.api}/users/{quote(login)}"
        return {
            "login": ident["login"],
            "id": ident["id"],
            "node_id": node_id("U", ident["id"]),
            "avatar_url": f"{roots.html}/avatars/{quote(login)}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{roots.html}/{quote(login)}",
            "repos_url": f"{url}/repos",
            "type": ident["type"],
            "site_admin": False,
        }

    def user_detail(self, roots: Roots, login: str) -> dict:
        payload = self.user(roots, login)
        developer = next((d for d in self.org.developers if d.login == login), None)
        payload.update(
            name=developer.display_name if developer else None,
            company=self.org.github_org,
            email=None,  # GitHub hides emails unless made public
        )
        return payload

    def organization(self, roots: Roots) -> dict:
        login = self.org.github_org
        url = f"{roots.api}/orgs/{login}"
        return {
            "login": login,
            "id": ORG_ID,
            "node_id": node_id("O", ORG_ID),
            "url": url,
            "repos_url": f"{url}/repos",
            "members_url": f"{url}/members{{/member}}",
            "html_url": f"{roots.html}/{login}",
            "name": login.title(),
            "type": "Organization",
            "public_repos": 0,
            "total_private_repos": len(self.org.repository_details),
        }

    def repository(self, roots: Roots, repo: Repository) -> dict:
        url = f"{roots.api}/repos/{repo.full_name}"
        commits = self.org.main_commits[repo.full_name]
        pushed = commits[-1].committed_at if commits else repo.created_at
        return {
            "id": repo.repo_id,
            "node_id": node_id("R", repo.repo_id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": True,
            "owner": self.user(roots, self.org.github_org),
            "html_url": f"{roots.html}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": url,
            "pulls_url": f"{url}/pulls{{/number}}",
            "commits_url": f"{url}/commits{{/sha}}",
            "compare_url": f"{url}/compare/{{base}}...{{head}}",
            "deployments_url": f"{url}/deployments",
            "issues_url": f"{url}/issues{{/number}}",
            "git_url": f"git://{roots.html.split('://', 1)[-1]}/{repo.full_name}.git",
            "clone_url": f"{roots.html}/{repo.full_name}.git",
            "created_at": iso(repo.created_at),
            "updated_at": iso(max(pushed, repo.created_at)),
            "pushed_at": iso(pushed),
            "homepage": None,
            "size": 1024 + 13 * len(commits),
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": "Python",
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "forks_count": 0,
            "archived": False,
            "disabled": False,
            "open_issues_count": self.open_counts[repo.full_name],
            "visibility": "private",
            "default_branch": "main",
            "allow_squash_merge": True,
            "allow_merge_commit": False,
            "allow_rebase_merge": False,
        }

    # --- pull requests ---

    def _pull_base_sha(self, pr: PullRequest) -> str:
        commits = self.org.main_commits[pr.repository]
        index = bisect.bisect_left(self.base_times[pr.repository], pr.created_at)
        return commits[index - 1].sha if index else root_sha(pr.repository)

    def label(self, roots: Roots, repo: Repository, name: str) -> dict:
        label_id = int(stable_sha("label", repo.full_name, name)[:8], 16)
        return {
            "id": label_id,
            "node_id": node_id("LA", label_id),
            "url": f"{roots.api}/repos/{repo.full_name}/labels/{quote(name)}",
            "name": name,
            "color": LABEL_COLORS.get(name, "ededed"),
            "default": False,
            "description": "Production incident" if name == "incident" else None,
        }

    def issue(self, roots: Roots, repo: Repository, item: "IssueView") -> dict:
        """One issue as the issues endpoints give it; a PR listed there carries `pull_request`."""
        repo_url = f"{roots.api}/repos/{repo.full_name}"
        url = f"{repo_url}/issues/{item.number}"
        html_kind = "pull" if item.pull_request_merged_at is not False else "issues"
        html = f"{roots.html}/{repo.full_name}/{html_kind}/{item.number}"
        payload = {
            "url": url,
            "repository_url": repo_url,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": html,
            "id": item.issue_id,
            "node_id": node_id("I", item.issue_id),
            "number": item.number,
            "title": item.title,
            "user": self.user(roots, item.author_login),
            "labels": [self.label(roots, repo, name) for name in item.labels],
            "state": item.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": item.comments,
            "created_at": iso(item.created_at),
            "updated_at": iso(item.updated_at),
            "closed_at": iso(item.closed_at),
            "author_association": "NONE" if item.author_login == GHOST["login"] else "MEMBER",
            "active_lock_reason": None,
            "body": item.body,
            "reactions": {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                          "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": item.state_reason,
        }
        if item.pull_request_merged_at is not False:
            pr_url = f"{repo_url}/pulls/{item.number}"
            payload["draft"] = item.pull_request_draft
            payload["pull_request"] = {
                "url": pr_url,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": iso(item.pull_request_merged_at),
            }
        return payload

    def pull(self, roots: Roots, repo: Repository, pr: PullRequest, full: bool) -> dict:
        repo_url = f"{roots.api}/repos/{repo.full_name}"
        url = f"{repo_url}/pulls/{pr.number}"
        html = f"{roots.html}/{repo.full_name}/pull/{pr.number}"
        issue = f"{repo_url}/issues/{pr.number}"
        repo_payload = self.repository(roots, repo)
        owner = self.user(roots, self.org.github_org)
        payload = {
            "url": url,
            "id": pr.pr_id,
            "node_id": node_id("PR", pr.pr_id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{repo_url}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{repo_url}/statuses/{pr.head_sha}",
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self.user(roots, pr.author_login),
            "body": pr.body if pr.body is not None else f"{pr.title}.",
            "labels": [self.label(roots, repo, name) for name in self.pull_labels.get((pr.repository, pr.number), ())],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {
                "label": f"{self.org.github_org}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": pr.head_sha,
                "user": owner,
                "repo": repo_payload,
            },
            "base": {
                "label": f"{self.org.github_org}:{pr.base_ref}",
                "ref": pr.base_ref,
                "sha": self._pull_base_sha(pr),
                "user": owner,
                "repo": repo_payload,
            },
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{repo_url}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{repo_url}/statuses/{pr.head_sha}"},
            },
            "author_association": "MEMBER",
            "auto_merge": None,
            "draft": pr.is_draft,
        }
        if full:
            merged = pr.merged_at is not None
            payload.update(
                merged=merged,
                mergeable=None if pr.state == "closed" else True,
                rebaseable=None if pr.state == "closed" else False,
                mergeable_state="unknown" if pr.state == "closed" else "clean",
                merged_by=self.user(roots, pr.author_login) if merged else None,
                comments=0,
                review_comments=0,
                maintainer_can_modify=False,
                commits=len(pr.commits),
                additions=pr.additions,
                deletions=pr.deletions,
                changed_files=pr.changed_files,
            )
        return payload

    def issue_event(self, roots: Roots, repo: Repository, event: IssueEvent, item: IssueView) -> dict:
        """An issue event as the repository-wide list gives it (with its `issue`; GitHub's event types
        `ready_for_review`, `merged` (with the merge commit) and `closed`)."""
        repo_url = f"{roots.api}/repos/{repo.full_name}"
        prefix = {"ready_for_review": "RFRE", "merged": "ME", "closed": "CE"}.get(event.event, "IE")
        return {
            "id": event.event_id,
            "node_id": node_id(prefix, event.event_id),
            "url": f"{repo_url}/issues/events/{event.event_id}",
            "actor": self.user(roots, event.actor_login),
            "event": event.event,
            "commit_id": event.commit_id,
            "commit_url": f"{repo_url}/commits/{event.commit_id}" if event.commit_id else None,
            "created_at": iso(event.created_at),
            "issue": self.issue(roots, repo, item),
            "performed_via_github_app": None,
        }

    def review(self, roots: Roots, repo: Repository, pr: PullRequest, review: Review) -> dict:
        pr_url = f"{roots.api}/repos/{repo.full_name}/pulls/{pr.number}"
        html = f"{roots.html}/{repo.full_name}/pull/{pr.number}#pullrequestreview-{review.review_id}"
        return {
            "id": review.review_id,
            "node_id": node_id("PRR", review.review_id),
            "user": self.account(roots, review.reviewer_login),
            "body": "" if review.state == "APPROVED" else "A few comments inline.",
            "state": review.state,
            "html_url": html,
            "pull_request_url": pr_url,
            "author_association": "MEMBER",
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "submitted_at": iso(review.submitted_at),
            "commit_id": review.commit_id,
        }

    def commit(self, roots: Roots, repo: Repository, commit: Commit) -> dict:
        repo_url = f"{roots.api}/repos/{repo.full_name}"
        html_repo = f"{roots.html}/{repo.full_name}"
        committer_login = commit.committer_login or commit.author_login
        parents = [commit.parent_sha] if commit.parent_sha else []
        return {
            "sha": commit.sha,
            "node_id": node_id("C", commit.sha),
            "commit": {
                "author": {"name": commit.author_name, "email": commit.author_email, "date": iso(commit.authored_at)},
                "committer": {
                    "name": commit.committer_name or commit.author_name,
                    "email": commit.committer_email or commit.author_email,
                    "date": iso(commit.committed_at),
                },
                "message": commit.message,
                "tree": {"sha": stable_sha("tree", commit.sha), "url": f"{repo_url}/git/trees/{stable_sha('tree', commit.sha)}"},
                "url": f"{repo_url}/git/commits/{commit.sha}",
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
            },
            "url": f"{repo_url}/commits/{commit.sha}",
            "html_url": f"{html_repo}/commit/{commit.sha}",
            "comments_url": f"{repo_url}/commits/{commit.sha}/comments",
            "author": self.account(roots, commit.author_login),
            "committer": self.account(roots, committer_login),
            "parents": [
                {"sha": p, "url": f"{repo_url}/commits/{p}", "html_url": f"{html_repo}/commit/{p}"} for p in parents
            ],
        }

    # --- deployments ---

    def deployment(self, roots: Roots, repo: Repository, deployment: Deployment) -> dict:
        repo_url = f"{roots.api}/repos/{repo.full_name}"
        url = f"{repo_url}/deployments/{deployment.deployment_id}"
        return {
            "url": url,
            "id": deployment.deployment_id,
            "node_id": node_id("DE", deployment.deployment_id),
            "sha": deployment.sha,
            "ref": deployment.ref,
            "task": "deploy",
            "payload": {},
            "original_environment": deployment.environment,
            "environment": deployment.environment,
            "description": f"Deploy {deployment.sha[:7]} to {deployment.environment}",
            "creator": self.user(roots, BOT["login"]),
            "created_at": iso(deployment.created_at),
            "updated_at": iso(deployment.updated_at),
            "statuses_url": f"{url}/statuses",
            "repository_url": repo_url,
            "transient_environment": False,
            "production_environment": deployment.environment == "production",
        }

    def deployment_status(self, roots: Roots, repo: Repository, deployment: Deployment, status: DeploymentStatus) -> dict:
        repo_url = f"{roots.api}/repos/{repo.full_name}"
        deployment_url = f"{repo_url}/deployments/{deployment.deployment_id}"
        log_url = f"{roots.html}/{repo.full_name}/actions/runs/{deployment.deployment_id}"
        return {
            "url": f"{deployment_url}/statuses/{status.status_id}",
            "id": status.status_id,
            "node_id": node_id("DES", status.status_id),
            "state": status.state,
            "creator": self.user(roots, BOT["login"]),
            "description": "",
            "environment": deployment.environment,
            "target_url": log_url,
            "log_url": log_url,
            "environment_url": "",
            "created_at": iso(status.created_at),
            "updated_at": iso(status.created_at),
            "deployment_url": deployment_url,
            "repository_url": repo_url,
        }

