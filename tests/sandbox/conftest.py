"""Shared fixtures: one organisation, its ground truth on disk, and one live sandbox server."""

from __future__ import annotations

import pandas as pd
import pytest
from github import Auth, Github

from sandbox.ground_truth import write_ground_truth
from sandbox.organisation import generate_organisation
from sandbox.server import SandboxServer

TIMESTAMPS = {
    "pull_requests.csv": ["created_at", "first_commit_at", "first_review_at", "merged_at", "closed_at", "first_deployed_at"],
    "deployments.csv": ["created_at", "deployed_at"],
}


@pytest.fixture(scope="session")
def org():
    return generate_organisation(preset="small", seed=42)


@pytest.fixture(scope="session")
def truth_dir(org, tmp_path_factory):
    return write_ground_truth(org, tmp_path_factory.mktemp("ground_truth"))


@pytest.fixture(scope="session")
def truth(truth_dir):
    """Ground-truth tables by file name, timestamps parsed as UTC."""

    def load(name: str) -> pd.DataFrame:
        frame = pd.read_csv(truth_dir / name, keep_default_na=True)
        for column in TIMESTAMPS.get(name, []):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    return load


@pytest.fixture(scope="session")
def server(org):
    with SandboxServer(org, host="127.0.0.1", port=0) as running:
        yield running


@pytest.fixture()
def gh(server):
    # seconds_between_requests=0: PyGithub otherwise spaces requests 0.25 s apart, which is polite to
    # github.com but only slows a local sandbox down.
    return Github(base_url=server.url, auth=Auth.Token("t"), per_page=100, seconds_between_requests=0)
