"""Incremental fct_pull_requests and fct_ai_sessions equal a full build, on DuckDB and PostgreSQL.

A PR's row changes not only when the PR lands again but when anything about it lands: its commits and
reviews, a deployment that ships it or moves its repository's baseline, transcript lines (or a newly
landed PR of the same branch that takes its lines over), its author's AI adoption, a revert of it, and
the identity mapping or the configuration. The fixture landing is built once (the first, full build);
then one batch per case lands as a later sync would bring it, with an incremental `dbt run` after
each. Every run must show the batch's effect, and the end result must equal a fresh full build of the
same landing, row for row, in both facts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from connectors.records import (
    AiAlertThresholds,
    GithubDeployment,
    GithubDeploymentCommit,
    GithubDeploymentStatus,
    RepoPath,
    TeamMember,
)
from impact.landing import land_batch
from tests.dbt.conftest import _actor_day, _commit, _pull_request, _review, _transcript, run_dbt, utc
from tests.dbt.warehouse_target import Target, copy_landing

FACTS = ("fct_pull_requests", "fct_ai_sessions")
SELECT = ["--select", "+fct_pull_requests", "+fct_ai_sessions"]
#: the fixture's last sync is 2024-04-01; later syncs come 4 days apart, beyond the 72 h lookback. A build
#: re-selects by landing what landed since the stored newest landing minus 72 h: this sync's and the
#: previous sync's batches. So each case's rows landed two syncs ago or earlier, and only the rule under
#: test can re-select them
SYNC = dt.datetime(2024, 4, 10, tzinfo=dt.timezone.utc)
WEB = "/home/alice/src/web/"
#: adoption_min_days_per_week is 2 in dbt_project.yml; the configuration change (case 6) makes it 1
ONE_DAY_ADOPTION = ["--vars", "{adoption_min_days_per_week: 1}"]


def at(sync: int) -> dt.datetime:
    return SYNC + dt.timedelta(days=4 * sync)


def land_unrelated(raw_root: Path, sync: int) -> None:
    """What every sync brings besides the case: a PR landed again unchanged (PR 5, closed long ago) and a
    transcript line outside any repository. They move both facts' watermarks past the earlier syncs."""
    land_batch(raw_root, "github/pull_requests", [
        _pull_request(id=1005, number=5, title="Old idea", author_login=None, author_type=None,
                      created_at=utc(21, 10), closed_at=utc(22, 10), head_ref="idea"),
    ], at(sync))
    land_batch(raw_root, "claude_code/transcript_messages", [
        _transcript(f"tick{sync}", "s-elsewhere", utc(23, 9, sync), 5, 0.01, cwd="/tmp/scratch", branch="y"),
    ], at(sync))


def land_pull_request_inputs(raw_root: Path) -> None:
    """Case 1 (a late review, a late commit), 3 (a late transcript line) and 5 (a revert of an old PR)."""
    land_batch(raw_root, "github/reviews", [_review(5010, 3, "alice", "APPROVED", utc(19, 10))], at(2))
    land_batch(raw_root, "github/pull_request_commits", [
        _commit("hoco/api", 1, "c1z", utc(1, 8), "alice", "alice@hoco.io"),
    ], at(2))
    land_batch(raw_root, "github/pull_requests", [
        _pull_request(id=1007, number=7, title='Revert "Search"', author_login="bob", created_at=utc(27, 10),
                      closed_at=utc(27, 12), merged_at=utc(27, 12), merge_commit_sha="m7",
                      head_ref="revert-2-feature/search"),
    ], at(2))
    land_batch(raw_root, "claude_code/transcript_messages", [
        _transcript("t10", "s-login", utc(25, 17), 80, 0.50, cwd=WEB, branch="feature/landing"),
    ], at(2))


def land_unmapped_session(raw_root: Path) -> None:
    """Before the first build: a session of a person the team mapping does not know yet (case 6 maps them)."""
    land_batch(raw_root, "claude_code/transcript_messages", [
        _transcript("t11", "s-erin", utc(22, 9), 20, 0.15, email="erin@hoco.io", cwd="/home/erin/src/elsewhere",
                    branch="x"),
    ], dt.datetime(2024, 4, 1, tzinfo=dt.timezone.utc))


def land_deployments(raw_root: Path) -> None:
    """Case 2: 105's commit range lands late (it shipped m3, PR 3); a production deployment older than
    the baseline (100) lands, so 100 now ships the commits it brought: m1, PR 1, merged before 100."""
    land_batch(raw_root, "github/deployment_commits", [
        GithubDeploymentCommit(105, "hoco/api", "production", 101, "m3"),
        GithubDeploymentCommit(100, "hoco/api", "production", 99, "m1"),
    ], at(1))
    land_batch(raw_root, "github/deployments", [
        GithubDeployment(id=99, repository="hoco/api", sha="m0x", ref="main", environment="production",
                         creator_login="deploy-bot", created_at=utc(4, 8), updated_at=utc(4, 8)),
    ], at(1))
    land_batch(raw_root, "github/deployment_statuses", [
        GithubDeploymentStatus(id=990, deployment_id=99, repository="hoco/api", state="success",
                               created_at=utc(4, 8, 30)),
    ], at(1))
    land_unrelated(raw_root, 1)


def land_earlier_pull_request_on_branch(raw_root: Path) -> None:
    """Case 3: a PR of hoco/web's feature/landing created before web#1: it wins web#1's lines."""
    land_batch(raw_root, "github/pull_requests", [
        _pull_request(id=2002, repository="hoco/web", number=2, title="Landing v0", author_login="alice",
                      created_at=utc(20, 9), closed_at=utc(27, 9), merged_at=utc(27, 9), merge_commit_sha="w2",
                      head_ref="feature/landing"),
    ], at(4))
    land_unrelated(raw_root, 4)


def land_adoption_usage(raw_root: Path) -> None:
    """Case 4: carol uses Claude Code on two days of the weeks of 03-11 and 03-18: adopted 2024-03-11."""
    land_batch(raw_root, "anthropic/claude_code_actor_days", [
        _actor_day("carol@hoco.io", day) for day in (11, 12, 18)
    ], at(3))
    land_unrelated(raw_root, 3)


def land_mapping_and_configuration(raw_root: Path) -> None:
    """Case 6: erin joins the team mapping; the configuration maps ~carol/src/api to hoco/api."""
    land_batch(raw_root, "org/team_members", [
        TeamMember("erin@hoco.io", "Erin Ek", "platform", "Platform", "eng", "erin-e", None, "engineer", None),
    ], at(0))
    land_batch(raw_root, "org/repo_paths", [RepoPath("/home/carol/src/api", "hoco/api")], at(0))
    land_batch(raw_root, "org/ai_alert_thresholds", [AiAlertThresholds(50.0, 25.0)], at(0))
    land_unrelated(raw_root, 0)


class Warehouse(Target):
    """A Target with the seeds loaded (AI cost prices from model_pricing) and a way to read a few values."""

    def seed(self) -> None:
        result = run_dbt(["seed", "--target", self.name], self.env, self.root / "target", self.root / "logs")
        assert result.returncode == 0, result.stdout[-4000:]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.postgres is not None:
            import psycopg2

            with psycopg2.connect(self.dsn) as connection, connection.cursor() as cursor:
                cursor.execute(sql)
                found = cursor.fetchall()
            connection.close()
            return found
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def pull_request(self, repository: str, number: int, columns: str) -> tuple[Any, ...]:
        [row] = self.query(f"select {columns} from marts.fct_pull_requests "
                           f"where repository_full_name = '{repository}' and number = {number}")
        return row

    def session(self, session_id: str, columns: str) -> tuple[Any, ...]:
        [row] = self.query(f"select {columns} from marts.fct_ai_sessions where session_id = '{session_id}'")
        return row


def naive(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None)


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_incremental_pull_requests_and_sessions_equal_a_full_build(target: str, raw_landing: Path, tmp_path: Path,
                                                                   request: pytest.FixtureRequest) -> None:
    postgres = request.getfixturevalue("postgres_server") if target == "postgres" else None
    raw_root = copy_landing(raw_landing, tmp_path)
    land_unmapped_session(raw_root)
    incremental = Warehouse(target, tmp_path / "incremental", raw_root, postgres, "impact_pr_incremental", SELECT)
    incremental.seed()
    incremental.run()
    assert incremental.pull_request("hoco/web", 1, "ai_sessions, ai_cost_usd") == (1, pytest.approx(0.80))
    assert incremental.session("s-erin", "developer_id") == (None,)

    # case 6 first (it recomputes every row, so it must not hide what the later cases miss): the
    # identity mapping and the configuration (repo paths, the adoption var) rewrite old rows
    before = {fact: incremental.rows(fact) for fact in FACTS}
    land_mapping_and_configuration(raw_root)
    incremental.run(*ONE_DAY_ADOPTION)
    compiled = incremental.compiled("fct_pull_requests")
    assert "selected_pull_requests" in compiled and "coalesce(max(extracted_at)" in compiled  # incremental path
    assert "selected_sessions" in incremental.compiled("fct_ai_sessions")
    assert incremental.session("s-erin", "developer_id") != (None,)
    assert incremental.session("s-ambiguous", "branch, pull_request_id")[1] is not None
    assert incremental.pull_request("hoco/api", 3, "ai_sessions, ai_cost_usd") == (1, pytest.approx(0.40))
    bob = incremental.pull_request("hoco/api", 2, "author_ai_adopted_at")  # 1 day a week is enough now
    assert str(bob[0])[:10] == "2024-03-04"
    for fact in FACTS:
        assert incremental.rows(fact) != before[fact], fact

    # case 2: a late commit range ships PR 3; a deployment older than the baseline lets 100 ship PR 1
    land_deployments(raw_root)
    incremental.run(*ONE_DAY_ADOPTION)
    assert incremental.pull_request("hoco/api", 3, "first_deployed_at, deployment_link_reason") \
        == (naive(utc(21, 10)), "deployed")
    assert incremental.pull_request("hoco/api", 1, "first_deployed_at, deployment_link_reason") \
        == (naive(utc(6, 12)), "deployed")

    # case 1, 3 and 5: what lands with or about the PRs themselves
    land_pull_request_inputs(raw_root)
    incremental.run(*ONE_DAY_ADOPTION)
    assert incremental.pull_request("hoco/api", 3, "approved_at") == (naive(utc(19, 10)),)
    assert incremental.pull_request("hoco/api", 1, "first_commit_at, commit_count") == (naive(utc(1, 8)), 3)
    # PR 2 itself landed nothing new: only the revert's landing tells
    assert incremental.pull_request("hoco/api", 2, "reverted_by_pr_number, is_reverted") == (7, True)
    assert incremental.pull_request("hoco/web", 1, "ai_cost_usd") == (pytest.approx(1.30),)
    assert incremental.session("s-login", "message_count") == (6,)

    # case 4: carol adopts, so her PRs created from the week of 03-11 on are AI-assisted
    assert incremental.pull_request("hoco/web", 1, "author_ai_adopted_at, is_ai_assisted") == (None, False)
    land_adoption_usage(raw_root)
    incremental.run(*ONE_DAY_ADOPTION)
    adopted = incremental.pull_request("hoco/web", 1, "author_ai_adopted_at, is_ai_assisted")
    assert (str(adopted[0])[:10], adopted[1]) == ("2024-03-11", True)

    # case 3: a PR created earlier on web#1's branch takes its lines (web#1 itself landed nothing new)
    land_earlier_pull_request_on_branch(raw_root)
    incremental.run(*ONE_DAY_ADOPTION)
    web_2 = incremental.pull_request("hoco/web", 2, "pull_request_id, ai_sessions")
    assert web_2[1] == 1
    assert incremental.pull_request("hoco/web", 1, "ai_sessions, ai_cost_usd") == (0, 0.0)
    assert incremental.session("s-login", "pull_request_id") == (web_2[0],)

    full = Warehouse(target, tmp_path / "full", raw_root, postgres, "impact_pr_full", SELECT)
    full.seed()
    full.run(*ONE_DAY_ADOPTION)
    for fact in FACTS:
        assert incremental.rows(fact) == full.rows(fact), fact


def test_nothing_new_selects_nothing(raw_landing: Path, tmp_path: Path) -> None:
    """With nothing landed since the last build, the incremental build re-selects no PR and no session:
    the value comparisons (first deployment, AI figures, adoption, reverts) find no difference."""
    raw_root = copy_landing(raw_landing, tmp_path)
    warehouse = Warehouse("duckdb", tmp_path / "again", raw_root, select=SELECT)
    warehouse.seed()
    # without the lookback the watermark is the newest landing itself: nothing landed after it
    warehouse.run()
    warehouse.run("--vars", "{incremental_lookback_hours: 0}")
    for model, cte in (("fct_pull_requests", "selected_pull_requests"), ("fct_ai_sessions", "selected_sessions")):
        compiled = warehouse.compiled(model)  # the model's CTEs up to the selection, then count it
        selection = compiled[:compiled.index("\n),\n", compiled.index(f"{cte} as ("))]
        selection += f"\n)\nselect count(*) from {cte}"
        assert warehouse.query(selection) == [(0,)], model
