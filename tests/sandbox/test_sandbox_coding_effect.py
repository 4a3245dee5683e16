"""The planted coding-time effect (and so lead time): adopters' new work gets faster, nothing else moves."""

from __future__ import annotations

import math
import statistics

from sandbox.organisation import generate_organisation
from sandbox.pull_requests import effect_scale


def _coding_hours(org) -> dict[tuple[str, object], tuple[float, bool]]:
    """Per PR, keyed by author and first commit (numbers follow opening order, which the effect changes)."""
    by_login = {d.login: d for d in org.developers}
    hours = {}
    for repository, pulls in org.pull_requests.items():
        for pr in pulls:
            if pr.is_bot or pr.reverted_pr_number:  # bots: no effect; reverts: follow their PR's merge time
                continue
            first_commit = min(c.authored_at for c in pr.commits)
            started_after = effect_scale(org.config, by_login[pr.author_login], first_commit.date()) > 0
            hours[(pr.author_login, first_commit)] = ((pr.created_at - first_commit).total_seconds() / 3600, started_after)
    return hours


def test_coding_effect_shortens_only_work_begun_after_adopting() -> None:
    base = _coding_hours(generate_organisation("small", seed=7))
    faster = _coding_hours(generate_organisation("small", seed=7, coding_effect=math.log(0.5)))
    assert base.keys() == faster.keys()
    untreated = [key for key, (_, treated) in base.items() if not treated]
    treated = [key for key, (_, treated) in base.items() if treated]
    assert len(treated) > 300 and len(untreated) > 300
    # with the effect, the same draws: work begun before adopting is unchanged to the second
    assert all(abs(base[key][0] - faster[key][0]) < 1e-9 for key in untreated)
    ratios = [faster[key][0] / base[key][0] for key in treated if base[key][0] > 0.1]
    assert abs(statistics.median(ratios) - 0.5) < 0.01


def test_default_is_no_coding_effect_and_recorded_in_the_planted_effects(tmp_path) -> None:
    import json

    from sandbox.ground_truth import write_ground_truth

    org = generate_organisation("small", seed=7)
    assert org.config.coding_effect == 0.0
    folder = write_ground_truth(org, tmp_path)
    effects = json.loads(next(folder.glob("planted_effects*.json")).read_text())
    assert effects["coding_hours_log_effect"] == 0.0
