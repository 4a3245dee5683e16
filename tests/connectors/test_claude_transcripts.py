"""Claude Code session transcripts read from disk equal the sandbox's answer key, every pitfall included."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from connectors.claude_transcripts import Pricing, TranscriptFolder, TranscriptReader, read_transcripts
from connectors.team_mapping import read_team_mapping
from impact.config import ConfigError, parse_config
from impact.sync import sync_claude_transcripts
from sandbox.ground_truth import write_transcript_truth
from sandbox.organisation import Organisation
from sandbox.transcripts import TranscriptWorld, write_transcripts

TOKENS = ["input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens"]


@pytest.fixture(scope="module")
def transcripts(small_org: Organisation, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TranscriptWorld]:
    folder = tmp_path_factory.mktemp("transcripts")
    return folder, write_transcripts(small_org, folder)


@pytest.fixture(scope="module")
def truth(small_org: Organisation, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    folder = write_transcript_truth(small_org, tmp_path_factory.mktemp("transcript_truth"))
    return {name: pd.read_csv(folder / f"{name}.csv", dtype={"request_id": str}) for name in ("transcript_usage", "transcript_daily")}


@pytest.fixture(scope="module")
def reader(transcripts, truth_dir: Path) -> TranscriptReader:
    folder, _ = transcripts
    result, unmatched = read_transcripts([TranscriptFolder(folder)], read_team_mapping(truth_dir / "team_mapping.csv"))
    assert unmatched == []
    return result


@pytest.fixture(scope="module")
def records(reader: TranscriptReader) -> pd.DataFrame:
    frame = pd.DataFrame([r.__dict__ for r in reader.records()])
    frame["date"] = frame["timestamp"].map(lambda t: t.date().isoformat())
    return frame.rename(columns={"cache_creation_input_tokens": "cache_creation_tokens",
                                 "cache_read_input_tokens": "cache_read_tokens"})


def _lines(folder: Path, relative: str) -> list[dict]:
    out = []
    for raw in (folder / relative).read_text().splitlines():
        try:
            out.append(json.loads(raw))
        except ValueError:
            pass
    return out


def test_daily_totals_equal_the_answer_key_exactly(records: pd.DataFrame, truth) -> None:
    ours = records.groupby(["developer_email", "date", "model"]).agg(
        responses=("dedup_key", "size"), **{t: (t, "sum") for t in TOKENS}, cost_usd=("cost_usd", "sum")
    ).reset_index().rename(columns={"developer_email": "email"})
    expected = truth["transcript_daily"]
    merged = expected.merge(ours, on=["email", "date", "model"], how="outer", suffixes=("_truth", ""), indicator=True)
    assert (merged["_merge"] == "both").all()
    for column in ["responses", *TOKENS]:
        assert (merged[column] == merged[f"{column}_truth"]).all(), column
    assert (merged["cost_usd"].round(2) - merged["cost_usd_truth"]).abs().max() < 0.005 + 1e-9


def test_each_response_once_with_its_final_numbers(records: pd.DataFrame, truth) -> None:
    expected = truth["transcript_usage"].copy()
    expected["request_id"] = expected["request_id"].where(expected["request_id"].notna(), None)
    assert records["dedup_key"].is_unique and len(records) == len(expected)
    ours = records.set_index("message_id")
    mine = expected.set_index("message_id")
    assert set(ours.index) == set(mine.index)
    mine = mine.loc[ours.index]
    for column in ["session_id", "model", "cwd", "git_branch", "cost_source", *TOKENS]:
        assert (ours[column].values == mine[column].values).all(), column
    assert (ours["is_sidechain"].values == mine["is_sidechain"].values).all()
    stamps = pd.to_datetime(mine["timestamp"]).to_numpy()
    assert (pd.to_datetime(ours["timestamp"], utc=True).dt.tz_convert(None).to_numpy() == stamps).all()
    assert (ours["cost_usd"] - mine["cost_usd"]).abs().max() < 1e-9
    split = mine["cache_creation_1h_tokens"].notna()
    assert (ours.loc[split.values, "cache_creation_1h_tokens"].values == mine.loc[split, "cache_creation_1h_tokens"].values).all()


def test_streaming_snapshots_first_line_wins_undercounts(transcripts, truth_dir: Path, truth) -> None:
    folder, world = transcripts
    snapshot_sessions = set(world.quirks["snapshots"])
    members = read_team_mapping(truth_dir / "team_mapping.csv")
    ours, _ = read_transcripts([TranscriptFolder(folder)], members)
    first, _ = read_transcripts([TranscriptFolder(folder)], members, keep="first")
    usage = truth["transcript_usage"]
    expected = int(usage.loc[usage["session_id"].isin(snapshot_sessions), "output_tokens"].sum())
    ours_total = sum(r.output_tokens for r in ours.best.values() if r.session_id in snapshot_sessions)
    first_total = sum(r.output_tokens for r in first.best.values() if r.session_id in snapshot_sessions)
    assert ours_total == expected
    undercount = (expected - first_total) / expected
    assert first_total < expected and undercount > 0.10, undercount
    # Input and cache counts are the same on every snapshot: only output differs.
    assert sum(r.cache_read_input_tokens for r in first.best.values()) == sum(
        r.cache_read_input_tokens for r in ours.best.values())
    # Snapshot lines really are there: several lines of one response, the earlier ones with stop_reason null.
    split = []
    for path in (p for p in world.files if "/subagents/" not in p):
        per_key = defaultdict(list)
        for line in _lines(folder, path):
            if line.get("type") == "assistant" and line.get("requestId"):
                per_key[(line["message"]["id"], line["requestId"])].append(line["message"])
        split = [messages for messages in per_key.values() if len(messages) > 1]
        if split:
            break
    assert split and all(m[0]["stop_reason"] is None and m[-1]["stop_reason"] is not None for m in split)
    assert all(m[0]["usage"]["output_tokens"] < m[-1]["usage"]["output_tokens"] for m in split)
    assert all(m[0]["usage"]["cache_read_input_tokens"] == m[-1]["usage"]["cache_read_input_tokens"] for m in split)


def test_resumed_session_repeats_are_counted_once(transcripts, reader: TranscriptReader) -> None:
    folder, world = transcripts
    path = world.quirks["resumed"][0]
    lines = _lines(folder, path)
    assert lines[0]["type"] == "summary" and "timestamp" not in lines[0]
    own_id = Path(path).stem
    repeated = [l for l in lines if l.get("type") == "assistant" and l.get("sessionId") != own_id]
    assert repeated  # earlier messages, repeated in the new file
    for line in repeated:
        record = reader.best[f"{line['message']['id']}|{line.get('requestId') or ''}"]
        assert record.session_id == line["sessionId"]  # the original session's, whichever copy was kept
    assert reader.lines > len(reader.best)


def test_subagents_sidechain_and_tool_use_result_usage(transcripts, records: pd.DataFrame, truth) -> None:
    folder, world = transcripts
    sidechain = records[records["is_sidechain"]]
    assert len(sidechain) > 0 and sidechain["file"].str.contains("/subagents/agent-").all()
    usage = truth["transcript_usage"]
    assert sidechain["output_tokens"].sum() == usage.loc[usage["is_sidechain"], "output_tokens"].sum()
    # The parent's user line repeats the subagent's usage under toolUseResult.usage: counting it would add more.
    repeated = {}  # by line uuid: resumed sessions repeat these lines too
    for path in set(world.quirks["tool_use_result_usage"]):
        for line in _lines(folder, path):
            if line.get("type") == "user" and isinstance(line.get("toolUseResult"), dict) and "usage" in line["toolUseResult"]:
                assert "usage" not in line.get("message", {})
                repeated[line["uuid"]] = line["toolUseResult"]["usage"]["output_tokens"]
    assert sum(repeated.values()) == sidechain["output_tokens"].sum()


def test_lines_without_request_id_merge_by_message_id(transcripts, reader: TranscriptReader, records: pd.DataFrame, truth) -> None:
    folder, world = transcripts
    no_request = records[records["request_id"].isna()]
    usage = truth["transcript_usage"]
    assert len(no_request) == usage["request_id"].isna().sum() > 0
    assert no_request["output_tokens"].sum() == usage.loc[usage["request_id"].isna(), "output_tokens"].sum()
    # Keying them by message.id + uuid instead counts every snapshot line again.
    by_uuid = {}
    for path in world.quirks["no_request_id_files"]:
        for line in _lines(folder, path):
            if line.get("type") == "assistant" and "requestId" not in line:
                by_uuid[(line["message"]["id"], line["uuid"])] = line["message"]["usage"]["output_tokens"]
    assert len(by_uuid) > len(no_request) and sum(by_uuid.values()) > no_request["output_tokens"].sum()


def test_api_errors_are_not_usage(transcripts, records: pd.DataFrame) -> None:
    folder, world = transcripts
    errors = [l for l in _lines(folder, world.quirks["api_error"][0]) if l.get("isApiErrorMessage")]
    assert errors and errors[0]["message"]["model"] == "<synthetic>" and errors[0]["message"]["usage"]["output_tokens"] == 0
    assert "<synthetic>" not in set(records["model"])
    assert not records["message_id"].isin({e["message"]["id"] for e in errors}).any()


def test_truncated_last_line_is_reported_with_file_and_line(transcripts, reader: TranscriptReader) -> None:
    folder, world = transcripts
    path, line = world.quirks["truncated"][0].rsplit(":", 1)
    assert [(i.file, i.line) for i in reader.invalid] == [(path, int(line))]
    assert "truncated" in str(reader.invalid[0]) and str(reader.invalid[0]).startswith(f"{path}:{line}:")
    # The lines before it were read.
    assert any(r.file == path for r in reader.best.values())


def test_default_branch_overnight_midnight_and_cost_usd(transcripts, records: pd.DataFrame, truth) -> None:
    folder, world = transcripts
    assert (records["git_branch"] == "main").any()
    overnight = _lines(folder, world.quirks["overnight"][0])[-1]["sessionId"]
    session = records[records["session_id"] == overnight]
    assert session["date"].nunique() == 2 and session["cost_usd"].sum() > 25
    old = records[records["cost_source"] == "costUSD"]
    assert len(old) > 0 and old["cache_creation_5m_tokens"].isna().all()
    for record in old.head(20).itertuples():
        line = json.loads((folder / record.file).read_text().splitlines()[record.line - 1])
        assert line["costUSD"] == record.cost_usd and "cache_creation" not in line["message"]["usage"]
    usage = truth["transcript_usage"]
    assert old["cost_usd"].sum() == pytest.approx(usage.loc[usage["cost_source"] == "costUSD", "cost_usd"].sum(), abs=1e-9)


def test_one_hour_cache_writes_cost_more() -> None:
    pricing = Pricing.load()
    day = dt.date(2026, 3, 2)
    five = pricing.cost("claude-sonnet-4-5-20250929", day, 0, 0, 1_000_000, 0, 0)
    hour = pricing.cost("claude-sonnet-4-5-20250929", day, 0, 0, 0, 1_000_000, 0)
    assert (five, hour) == (3.75, 6.0)
    assert pricing.cost("claude-opus-4-1-20250805", day, 1_000_000, 1_000_000, 0, 0, 1_000_000) == 15 + 75 + 1.5
    assert pricing.cost("claude-opus-4-5-20251101", day, 1_000_000, 1_000_000, 0, 0, 0) == 30
    assert pricing.price("claude-opus-4-20250514", day).input == 15
    assert pricing.price("gpt-4o", day) is None
    assert pricing.price("claude-opus-4-5-20251101", dt.date(2025, 1, 1)) is None  # before it existed
    table = pd.read_csv(Path(__file__).parents[2] / "connectors" / "data" / "model_pricing.csv")
    assert (table["price_type"] == "list").all()  # list prices, not what an organisation may have negotiated
    assert ((table["cache_read"] - table["input"] * 0.1).abs() < 1e-9).all()
    assert ((table["cache_write_5m"] - table["input"] * 1.25).abs() < 1e-9).all()
    assert ((table["cache_write_1h"] - table["input"] * 2).abs() < 1e-9).all()


# --- sync: landing, re-runs, growth, unmatched folders --------------------------------------------


def _config(tmp_path: Path, transcripts: list[dict], teams: Path | None):
    raw = {"start_date": "2026-01-05", "warehouse": str(tmp_path / "wh" / "impact.duckdb"),
           "claude_code": {"transcripts": transcripts}}
    if teams:
        raw["teams"] = str(teams)
    return parse_config(raw)


def _landed(config) -> pd.DataFrame:
    return duckdb.sql(
        f"select * from read_parquet('{config.raw_dir}/claude_code/transcript_messages/*.parquet')"
    ).df()


def test_sync_lands_the_answer_key_and_a_rerun_adds_nothing(transcripts, truth_dir: Path, truth, tmp_path: Path) -> None:
    folder, world = transcripts
    config = _config(tmp_path, [{"path": str(folder)}], truth_dir / "team_mapping.csv")
    summary = sync_claude_transcripts(config)
    landed = _landed(config)
    assert len(landed) == len(truth["transcript_usage"]) == summary.rows["claude_code/transcript_messages"]
    assert landed["output_tokens"].sum() == truth["transcript_usage"]["output_tokens"].sum()
    assert summary.unmatched_folders == [] and len(summary.invalid_lines) == 1
    assert world.quirks["truncated"][0].rsplit(":", 1)[0] in summary.invalid_lines[0]
    files = sorted((config.raw_dir / "claude_code" / "transcript_messages").glob("*.parquet"))
    again = sync_claude_transcripts(config)
    assert again.files_read == 0 and again.files_unchanged == summary.files_read and again.batches == 0
    assert sorted((config.raw_dir / "claude_code" / "transcript_messages").glob("*.parquet")) == files
    full = sync_claude_transcripts(config, full_refresh=True)  # everything read again, nothing new landed
    assert full.files_read == summary.files_read and full.batches == 0 and len(_landed(config)) == len(landed)
    shutil.rmtree(config.raw_dir / "claude_code")  # a wiped landing folder is filled again, state or not
    refilled = sync_claude_transcripts(config)
    assert refilled.files_read == summary.files_read and len(_landed(config)) == len(landed)


def _assistant(template: dict, message_id: str, request_id: str | None, output: int, stop: str | None, ts: str) -> str:
    line = json.loads(json.dumps(template))
    line["message"]["id"], line["message"]["stop_reason"] = message_id, stop
    line["message"]["usage"]["output_tokens"] = output
    line["uuid"], line["timestamp"] = f"uuid-{message_id}-{output}", ts
    line.pop("requestId", None)
    if request_id:
        line["requestId"] = request_id
    return json.dumps(line)


def test_a_grown_session_file_adds_only_its_new_responses(transcripts, tmp_path: Path) -> None:
    folder, world = transcripts
    source = next(p for p in world.files if "/subagents/" not in p and p not in world.quirks["cost_usd"]
                  and p not in world.quirks["resumed"] and not any(q.startswith(p) for q in world.quirks["truncated"]))
    person = tmp_path / "alice-copy"
    target = person / "projects" / Path(source).parent.name / Path(source).name
    target.parent.mkdir(parents=True)
    shutil.copy(folder / source, target)
    config = _config(tmp_path, [{"path": str(person), "developer": "alice@hoco.io"}], None)
    first = sync_claude_transcripts(config)
    before = _landed(config)
    assert len(before) == first.rows["claude_code/transcript_messages"] > 0
    assert set(before["developer_email"]) == {"alice@hoco.io"} and set(before["file"].str.split("/").str[0]) == {"projects"}

    template = next(l for l in _lines(person, target.relative_to(person).as_posix()) if l.get("type") == "assistant")
    with target.open("a") as handle:
        # Two new responses, one still streaming (snapshot only) ...
        handle.write(_assistant(template, "msg_new_1", "req_new_1", 50, None, "2026-07-06T10:00:00.000Z") + "\n")
        handle.write(_assistant(template, "msg_new_1", "req_new_1", 400, "end_turn", "2026-07-06T10:00:02.000Z") + "\n")
        handle.write(_assistant(template, "msg_new_2", "req_new_2", 30, None, "2026-07-06T10:01:00.000Z") + "\n")
    second = sync_claude_transcripts(config)
    after = _landed(config)
    assert second.rows["claude_code/transcript_messages"] == 2  # only the new ones
    assert len(after) == len(before) + 2 and after["dedup_key"].is_unique
    with target.open("a") as handle:  # ... whose final line arrives before the next sync
        handle.write(_assistant(template, "msg_new_2", "req_new_2", 900, "end_turn", "2026-07-06T10:01:05.000Z") + "\n")
    third = sync_claude_transcripts(config)
    final = _landed(config)
    assert third.rows["claude_code/transcript_messages"] == 1
    best = final.sort_values("output_tokens").groupby("dedup_key").tail(1)  # the staging rule
    assert len(best) == len(before) + 2
    assert best.set_index("dedup_key").loc["msg_new_2|req_new_2", "output_tokens"] == 900
    assert best["output_tokens"].sum() == before["output_tokens"].sum() + 400 + 900
    assert sync_claude_transcripts(config).batches == 0


def test_a_truncated_line_completed_later_is_counted_then(transcripts, tmp_path: Path) -> None:
    folder, world = transcripts
    path, line_number = world.quirks["truncated"][0].rsplit(":", 1)
    person = tmp_path / "people" / "tariq-khan"
    target = person / "projects" / Path(path).parent.name / Path(path).name
    target.parent.mkdir(parents=True)
    shutil.copy(folder / path, target)
    config = _config(tmp_path, [{"path": str(tmp_path / "people")}], None)
    first = sync_claude_transcripts(config)
    assert first.unmatched_folders == ["tariq-khan"]  # a login, but no team mapping to resolve it
    assert len(first.invalid_lines) == 1 and first.invalid_lines[0].startswith(
        f"tariq-khan/projects/{Path(path).parent.name}/{Path(path).name}:{line_number}:")
    landed = _landed(config)
    assert landed["developer_email"].isna().all() and set(landed["developer"]) == {"tariq-khan"}
    # The session goes on: the cut line is finished and a newline written.
    lines = target.read_text().split("\n")
    template = next(json.loads(l) for l in reversed(lines[:-1]) if '"type":"assistant"' in l and '"usage"' in l)
    lines[-1] = _assistant(template, "msg_finished", "req_finished", 777, "end_turn", "2026-07-05T23:59:59.000Z")
    target.write_text("\n".join(lines) + "\n")
    second = sync_claude_transcripts(config)
    assert second.invalid_lines == [] and second.rows["claude_code/transcript_messages"] == 1


def test_unmatched_person_folders_are_reported_not_dropped(transcripts, truth_dir: Path, tmp_path: Path) -> None:
    folder, world = transcripts
    root = tmp_path / "collected"
    sources = [p for p in world.files if p.startswith("aisha.muller@hoco.io/")][:3]
    for relative in sources:
        for name in ("aisha-muller", "stranger"):  # a GitHub login of the mapping, and nobody
            target = root / name / relative.split("/", 1)[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(folder / relative, target)
    config = _config(tmp_path, [{"path": str(root)}], truth_dir / "team_mapping.csv")
    summary = sync_claude_transcripts(config)
    assert summary.unmatched_folders == ["stranger"]
    landed = _landed(config)
    # The copies are the same responses: counted once, whichever folder came first.
    assert landed["dedup_key"].is_unique and set(landed["developer"]) == {"aisha-muller"}
    assert set(landed["developer_email"]) == {"aisha.muller@hoco.io"}


def test_config_transcripts_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "conf" / "impact.yaml"
    config_file.parent.mkdir()
    from impact.config import load_config

    config_file.write_text(
        "start_date: 2026-01-05\nclaude_code:\n  transcripts:\n"
        "    - {path: collected/}\n    - {path: /abs/alice, developer: alice@hoco.io}\n    - bob-copy\n"
    )
    config = load_config(config_file)
    entries = config.claude_code.transcripts
    assert entries[0].path == (tmp_path / "conf" / "collected").resolve() and entries[0].developer is None
    assert (str(entries[1].path), entries[1].developer) == ("/abs/alice", "alice@hoco.io")
    assert entries[2].path == (tmp_path / "conf" / "bob-copy").resolve()
    monkeypatch.setenv("CLAUDE_TRANSCRIPTS", "/a:/b")
    from_env = parse_config({"start_date": "2026-01-05"})
    assert [str(e.path) for e in from_env.claude_code.transcripts] == ["/a", "/b"]
    monkeypatch.delenv("CLAUDE_TRANSCRIPTS")
    assert parse_config({"start_date": "2026-01-05"}).claude_code is None
    with pytest.raises(ConfigError, match=r"transcripts\[0\] needs a path"):
        parse_config({"start_date": "2026-01-05", "claude_code": {"transcripts": [{"developer": "x"}]}})


def test_a_configured_developer_outside_the_mapping_is_reported(transcripts, truth_dir: Path, tmp_path: Path) -> None:
    folder, world = transcripts
    source = next(p for p in world.files if "/subagents/" not in p and p not in world.quirks["resumed"]
                  and not any(q.startswith(p) for q in world.quirks["truncated"]))
    home = tmp_path / "dana" / ".config" / "claude"  # a copy of ~/.config/claude
    target = home / "projects" / Path(source).parent.name / Path(source).name
    target.parent.mkdir(parents=True)
    shutil.copy(folder / source, target)
    config = _config(tmp_path, [{"path": str(tmp_path / "dana"), "developer": "dana@elsewhere.io"}],
                     truth_dir / "team_mapping.csv")
    summary = sync_claude_transcripts(config)
    assert summary.unmatched_folders == ["dana@elsewhere.io"] and summary.rows["claude_code/transcript_messages"] > 0
    landed = _landed(config)
    assert landed["developer_email"].isna().all() and set(landed["developer"]) == {"dana@elsewhere.io"}
    assert landed["file"].str.startswith(".config/claude/projects/").all()
