"""The generated world and its ground truth: deterministic, consistent, and carrying the planted effect."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from sandbox.ground_truth import write_ground_truth
from sandbox.metrics import adoption_week
from sandbox.organisation import generate_organisation

FILES = ("team_mapping.csv", "developers.csv", "pull_requests.csv", "deployments.csv", "incidents.csv", "ai_usage_daily.csv",
         "ai_actor_days.csv", "planted_effects.json")


def _contents(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES}


def test_same_seed_same_bytes_other_seed_differs(tmp_path, truth_dir):
    again = _contents(write_ground_truth(generate_organisation(preset="small", seed=42), tmp_path / "again"))
    assert again == _contents(truth_dir)
    other = _contents(write_ground_truth(generate_organisation(preset="small", seed=7), tmp_path / "other"))
    assert all(other[name] != again[name] for name in FILES)


def test_calendar_and_shape(org, truth):
    assert (org.github_org, org.start_date, org.end_date) == ("hoco", dt.date(2026, 1, 5), dt.date(2026, 7, 5))
    assert org.start_date.weekday() == 0 and (org.end_date - org.start_date).days + 1 == 26 * 7
    assert len(org.repositories) == 6 and all(r.startswith("hoco/") for r in org.repositories)
    mapping = truth("team_mapping.csv")
    assert len(mapping) == 30 and mapping["email"].is_unique and mapping["github_login"].is_unique
    assert mapping.groupby("team_id").size().between(7, 8).all() and set(mapping["parent_team_id"]) == {"engineering"}
    assert set(mapping["seniority"]) == {"junior", "mid", "senior"}
    assert (mapping["email"] == mapping["github_login"].str.replace("-", ".") + "@hoco.io").all()


def test_adoption_rule_on_generated_usage_gives_planned_week(truth, org):
    developers = truth("developers.csv")
    usage = truth("ai_actor_days.csv")
    adopters = developers["planned_adoption_week"].notna()
    assert 18 <= adopters.sum() <= 22  # about two thirds of 30
    weeks = pd.to_datetime(developers.loc[adopters, "planned_adoption_week"])
    offsets = (weeks - pd.Timestamp(org.start_date)).dt.days // 7
    assert offsets.between(6, 18).all() and offsets.nunique() >= 8  # staggered
    for row in developers.itertuples():
        days = [dt.date.fromisoformat(d) for d in usage.loc[usage["email"] == row.email, "date"]]
        derived = adoption_week(days)
        planned = None if pd.isna(row.planned_adoption_week) else dt.date.fromisoformat(row.planned_adoption_week)
        assert derived == planned, row.email
        assert (None if pd.isna(row.ai_adopted_at) else dt.date.fromisoformat(row.ai_adopted_at)) == planned
    never = developers.loc[~adopters, "email"]
    assert usage["email"].isin(never).any()  # never-adopters still have isolated trial days


def test_adoption_is_confounded_with_seniority(truth):
    developers = truth("developers.csv")
    adopted = developers["planned_adoption_week"].notna()
    share = adopted.groupby(developers["seniority"]).mean()
    assert share["senior"] > share["junior"]


def test_pull_request_stages_follow_the_definitions(truth, org):
    pulls = truth("pull_requests.csv")
    merged = pulls[pulls["merged_at"].notna()].copy()
    # a PR opened as draft asks for review when marked ready: coding ends and pickup starts there
    ready = pd.to_datetime(merged["ready_for_review_at"], utc=True)
    merged["asked_at"] = ready.where(merged["opened_as_draft"], merged["created_at"])
    hours = lambda a, b: (merged[b] - merged[a]).dt.total_seconds() / 3600
    assert np.allclose(merged["coding_hours"], hours("first_commit_at", "asked_at"))
    assert np.allclose(merged["pickup_hours"], hours("asked_at", "first_review_at"))
    assert np.allclose(merged["review_hours"], hours("first_review_at", "merged_at"))
    assert np.allclose(merged["cycle_hours"], merged["coding_hours"] + merged["pickup_hours"] + merged["review_hours"])
    deployed = merged[merged["first_deployed_at"].notna()]
    assert np.allclose(deployed["lead_time_hours"], deployed["cycle_hours"] + deployed["deploy_hours"])
    assert (deployed["deploy_hours"] >= 0).all() and len(deployed) > 0.8 * len(merged)
    unmerged = pulls[pulls["merged_at"].isna()]
    assert unmerged[["review_hours", "cycle_hours", "first_deployed_at", "lead_time_hours"]].isna().all().all()
    closed_unmerged = (pulls["state"] == "closed") & pulls["merged_at"].isna()
    assert 0.04 < closed_unmerged.mean() < 0.12
    assert ((pulls["state"] == "open") == pulls["closed_at"].isna()).all()
    end = pd.Timestamp(org.observed_at)
    for column in ("created_at", "first_commit_at", "first_review_at", "merged_at", "closed_at"):
        values = pulls[column].dropna()
        assert (values < end).all() and (values.dt.microsecond == 0).all()
    assert (pulls["review_count"] >= pulls["first_review_at"].notna()).all()


def test_deployments_shape(truth):
    deployments = truth("deployments.csv")
    production = deployments[deployments["environment"] == "production"]
    failure_rate = (production["status"] == "failure").mean()
    assert 0.04 < failure_rate < 0.18
    assert (deployments["status"] == "success").eq(deployments["deployed_at"].notna()).all()
    successes = production[production["status"] == "success"]
    baselines = successes.sort_values("deployed_at").groupby("repository").head(1)
    assert baselines["change_count"].isna().all()
    others = successes.drop(baselines.index)
    # A rollback re-deploys an earlier sha: it ships nothing new (0), whatever ships next counts again.
    assert (others.loc[~others["is_rollback"], "change_count"] >= 1).all()
    assert (others.loc[others["is_rollback"], "change_count"] == 0).all() and others["is_rollback"].sum() >= 3
    assert others["is_rollback"].sum() == successes["rolled_back"].sum()
    assert production["created_at"].min() >= pd.Timestamp("2026-01-19", tz="UTC")  # history starts in week 2
    assert set(deployments["environment"]) == {"production", "staging"}


def _within_developer_effect(pulls: pd.DataFrame) -> float:
    """OLS of log review hours on treatment with developer fixed effects (by demeaning)."""
    merged = pulls[pulls["review_hours"].notna()].copy()
    merged["y"] = np.log(merged["review_hours"])
    merged["d"] = merged["is_treated"].astype(float)
    demeaned = merged[["y", "d"]] - merged.groupby("author_login")[["y", "d"]].transform("mean")
    return float((demeaned["y"] * demeaned["d"]).sum() / (demeaned["d"] ** 2).sum())


def test_planted_review_effect_is_visible(truth, truth_dir):
    effect = json.loads((truth_dir / "planted_effects.json").read_text())["review_hours_log_effect"]
    assert effect == -0.25
    estimate = _within_developer_effect(truth("pull_requests.csv"))
    assert estimate == pytest.approx(effect, abs=0.12)


def test_zero_effect_knob_removes_it(tmp_path):
    folder = write_ground_truth(generate_organisation(preset="small", seed=42, review_effect=0.0), tmp_path)
    pulls = pd.read_csv(folder / "pull_requests.csv")
    assert abs(_within_developer_effect(pulls)) < 0.12
    assert json.loads((folder / "planted_effects.json").read_text())["review_hours_log_effect"] == 0.0


def test_unknown_preset_fails():
    with pytest.raises(ValueError, match="unknown sandbox preset"):
        generate_organisation(preset="galactic")
