"""Fixtures shared across the suite: the `small` sandbox organisation, served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sandbox.ground_truth import write_ground_truth
from sandbox.organisation import Organisation, generate_organisation
from sandbox.server import SandboxServer

SEED = 42


@pytest.fixture(scope="session")
def small_org() -> Organisation:
    return generate_organisation(preset="small", seed=SEED)


@pytest.fixture(scope="session")
def sandbox(small_org: Organisation) -> Iterator[SandboxServer]:
    with SandboxServer(small_org, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="session")
def truth_dir(small_org: Organisation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ground_truth(small_org, tmp_path_factory.mktemp("ground_truth"))


def read_truth(truth_dir: Path, name: str) -> pd.DataFrame:
    """A ground-truth CSV with its timestamp columns parsed."""
    frame = pd.read_csv(truth_dir / f"{name}.csv")
    for column in frame.columns:
        if column.endswith("_at"):
            frame[column] = pd.to_datetime(frame[column])
    return frame
