"""The sandbox's planted effects that the analysis must recover: ramp-up, cohort heterogeneity,
pickup time and throughput; all zero-able, and the defaults leave the world unchanged."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pytest

from sandbox.config import preset_config
from sandbox.ground_truth import write_ground_truth
from sandbox.organisation import generate_organisation
from sandbox.pull_requests import effect_scale


def _developer(adopted: dt.date | None):
    org = generate_organisation(preset="small", seed=1)
    return dataclasses.replace(org.developers[0], planned_adoption_week=adopted)


def test_effect_scale_ramp_and_cohort_gradient():
    config = preset_config("small", effect_ramp_weeks=4, effect_cohort_gradient=1.0)
    first = config.start_date + dt.timedelta(weeks=config.adoption_first_week)
    last = config.start_date + dt.timedelta(weeks=config.adoption_last_week)
    early, late = _developer(first), _developer(last)
    assert effect_scale(config, early, first - dt.timedelta(days=1)) == 0.0
    # ramp: 1/4, 2/4, 3/4, then full; early adopters 1.5x, latest 0.5x
    assert [effect_scale(config, early, first + dt.timedelta(weeks=k)) for k in range(6)] == pytest.approx(
        [0.375, 0.75, 1.125, 1.5, 1.5, 1.5])
    assert effect_scale(config, late, last + dt.timedelta(weeks=10)) == pytest.approx(0.5)
    assert effect_scale(config, _developer(None), last) == 0.0
    default = preset_config("small")
    assert effect_scale(default, early, first) == 1.0 and effect_scale(default, late, last + dt.timedelta(weeks=3)) == 1.0


def _post_rate(org) -> tuple[float, float]:
    """PRs per developer-week of adopters after vs before their adoption."""
    pre, post, pre_w, post_w = 0, 0, 0, 0
    weeks = [org.config.start_date + dt.timedelta(weeks=k) for k in range(org.config.weeks)]
    by_author: dict[str, list] = {}
    for pulls in org.pull_requests.values():
        for pr in pulls:
            by_author.setdefault(pr.author_login, []).append(pr.created_at.date())
    for d in org.developers:
        if d.planned_adoption_week is None:
            continue
        days = by_author.get(d.login, [])
        n_post = sum(1 for day in days if day >= d.planned_adoption_week)
        post += n_post
        pre += len(days) - n_post
        post_w += sum(1 for w in weeks if w >= d.planned_adoption_week)
        pre_w += sum(1 for w in weeks if w < d.planned_adoption_week)
    return pre / pre_w, post / post_w


def test_throughput_and_pickup_effects_are_planted_and_zero_able(tmp_path):
    base = generate_organisation(preset="small", seed=5, team_sizes=(20, 20, 20, 20))
    boosted = generate_organisation(preset="small", seed=5, team_sizes=(20, 20, 20, 20),
                                    throughput_effect=math.log(1.5), pickup_effect=-0.5)
    (b_pre, b_post), (t_pre, t_post) = _post_rate(base), _post_rate(boosted)
    assert t_pre == pytest.approx(b_pre, rel=0.02)  # before adoption nothing changes
    assert (t_post / t_pre) / (b_post / b_pre) == pytest.approx(1.5, rel=0.12)

    def pickup_logs(org, treated):
        return [math.log((pr.reviews[0].submitted_at - pr.created_at).total_seconds() / 3600)
                for pulls in org.pull_requests.values() for pr in pulls if pr.reviews and pr.is_treated == treated]

    shift = np.mean(pickup_logs(boosted, True)) - np.mean(pickup_logs(base, True))
    assert shift == pytest.approx(-0.5, abs=0.1)
    assert np.mean(pickup_logs(boosted, False)) == pytest.approx(np.mean(pickup_logs(base, False)), abs=0.1)

    effects = json.loads((write_ground_truth(boosted, tmp_path) / "planted_effects.json").read_text())
    assert effects["prs_per_week_log_effect"] == pytest.approx(math.log(1.5))
    assert effects["pickup_hours_log_effect"] == -0.5
    assert effects["effect_ramp_weeks"] == 0 and set(effects["cohort_effect_scale"].values()) == {1.0}
