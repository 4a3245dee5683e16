"""The medium and large presets: the right head count, and per person the same world as `small`.

Generating a full medium year takes ~13 s on the 2-core reference machine (see the sandbox report),
too long for this suite, so generation runs on medium's people over 8 weeks; the full calendar is
checked in the config alone.
"""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox.config import PRESETS, preset_config
from sandbox.organisation import generate_organisation


@pytest.mark.parametrize(("preset", "people", "teams"), [("medium", 1_000, 125), ("large", 10_000, 1_250)])
def test_preset_shapes(preset, people, teams):
    config = preset_config(preset)  # passes the same validation as every run
    assert sum(config.team_sizes) == people and len(config.teams) == teams
    assert config.weeks == 52 and config.start_date.weekday() == 0
    assert config.end_date == PRESETS["small"].end_date  # one observation horizon for every preset
    assert min(config.team_sizes) >= 5 and max(config.team_sizes) <= 11
    assert len(set(config.teams)) == teams and "data" in config.teams
    names = [name for _, name in config.repositories]
    assert len(set(names)) == len(names) == 2 * teams
    assert Counter(team for team, _ in config.repositories) == {team: 2 for team in config.teams}
    assert 0 < config.adoption_first_week < config.adoption_last_week < config.weeks - 1


@pytest.fixture(scope="module")
def medium_people():
    return generate_organisation("medium", seed=42, weeks=8, adoption_first_week=2, adoption_last_week=5)


def test_medium_people_are_distinct_and_realistic(medium_people):
    org = medium_people
    developers = org.developers
    assert len(developers) == 1_000
    for field in ("login", "email", "user_id"):
        assert len({getattr(d, field) for d in developers}) == 1_000
    jira = [d.jira_account_id for d in developers if d.jira_account_id]
    assert len(set(jira)) == len(jira) and 0.8 < len(jira) / 1_000 < 0.97
    # Namesakes exist at this size (as in any big company) and only the login tells them apart.
    namesakes = [d for d in developers if d.login.rsplit("-", 1)[-1].isdigit()]
    assert namesakes and all(sum(o.display_name == d.display_name for o in developers) >= 2 for d in namesakes)
    assert 0.6 < sum(d.planned_adoption_week is not None for d in developers) / 1_000 < 0.7
    assert {d.team_id for d in developers} == {t.team_id for t in org.teams if t.parent_team_id}


def test_medium_activity_per_person_matches_small(medium_people, org):
    def prs_per_person_week(o):
        return sum(len(v) for v in o.pull_requests.values()) / (len(o.developers) * o.config.weeks)

    assert prs_per_person_week(medium_people) == pytest.approx(prs_per_person_week(org), rel=0.15)
    teams = {d.login: d.team_id for d in medium_people.developers}
    owner = {r.full_name: r.team_id for r in medium_people.repository_details}
    checked = 0
    for full_name, pulls in list(medium_people.pull_requests.items())[::25]:
        for pr in pulls:
            if pr.is_bot:  # dependency bots open PRs in every repository, whoever owns it
                continue
            assert teams[pr.author_login] == owner[full_name]
            # an author may comment on their own PR (never approve it)
            assert all(teams[r.reviewer_login] == owner[full_name] for r in pr.reviews)
            assert all(r.reviewer_login != pr.author_login or r.state == "COMMENTED" for r in pr.reviews)
            checked += 1
    assert checked > 100
    assert all(deployments for deployments in medium_people.deployments.values())
