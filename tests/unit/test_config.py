"""The config contract: ${ENV} references, clear errors, secrets that never print."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from impact.config import ConfigError, load_config, parse_config


def test_env_references_resolve_and_secrets_never_print(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MY_GH_TOKEN", "ghp_supersecret")
    config_file = tmp_path / "impact.yaml"
    config_file.write_text(
        "start_date: 2026-01-05\n"
        "github:\n  api_url: https://ghe.example.com/api/v3\n  token: ${MY_GH_TOKEN}\n  repos: [acme/api]\n"
    )
    config = load_config(config_file)
    assert config.github is not None
    assert config.github.token.reveal() == "ghp_supersecret"
    assert config.github.api_url == "https://ghe.example.com/api/v3"
    assert config.github.repos == ("acme/api",)
    assert config.start_date == dt.date(2026, 1, 5)
    assert "supersecret" not in repr(config) and "supersecret" not in str(config.github)
    assert config.warehouse == (tmp_path / "warehouse" / "impact.duckdb").resolve()
    assert config.raw_dir == config.warehouse.parent / "raw"


def test_missing_env_variable_names_key_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"github\.token.*NOT_SET_TOKEN"):
        parse_config({"start_date": "2026-01-05", "github": {"token": "${NOT_SET_TOKEN}", "orgs": ["x"]}})


def test_empty_token_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_ADMIN_KEY"):
        parse_config({"start_date": "2026-01-05", "anthropic": {}})


def test_github_needs_something_to_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with pytest.raises(ConfigError, match="github.repos"):
        parse_config({"start_date": "2026-01-05", "github": {}})


def test_missing_file_points_to_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMPACT_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="impact demo"):
        load_config(tmp_path / "nope.yaml")


def test_example_config_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "k")
    config = load_config(Path(__file__).parents[2] / "impact.example.yaml")
    assert config.github is not None and config.github.orgs == ("my-org",)
    assert config.anthropic is not None and config.anthropic.reread_days == 3
