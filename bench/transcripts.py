"""Claude Code transcripts: ours against `ccusage` (18.0.11, the npm tool) on the same >= 1 GB corpus.

The corpus is the sandbox's transcripts (`sandbox.transcripts.write_transcripts`, every pitfall of real
files included), copied until it reaches the target size: copy k rewrites the message and request ids
(`msg_01...` -> `msg_01<k>...`) so that every copy is new work for both readers (both count a message id
+ request id once). It is laid out as one `~/.claude`: `<corpus>/projects/<copy>-<person>-<project>/...`,
which ccusage reads through `CLAUDE_CONFIG_DIR=<corpus>` and ours as one configured folder.

Both readers run as child processes so that wall time and peak RSS are each one's own (`os.wait4`).
Daily totals are compared two ways: ours with ccusage's rule (first line of a response wins, to check
that the two agree where the pricing agrees) and ours with our rule (the final streaming snapshot, which
ccusage undercounts), showing both and the difference.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
NODE_PREFIX = BENCH / ".node"
CCUSAGE_VERSION = "18.0.11"
CCUSAGE = NODE_PREFIX / "node_modules" / ".bin" / "ccusage"
TIER_THRESHOLD = 200_000
HEAP_MB = 12_288


# --- the corpus ---


def build_corpus(folder: Path, target_mb: int, seed: int, log=print) -> dict:
    """Write (or reuse) a corpus of at least `target_mb` MB; returns its description."""
    marker = folder / "corpus.json"
    if marker.exists():
        described = json.loads(marker.read_text())
        if described.get("target_mb") == target_mb and described.get("seed") == seed:
            return described
    shutil.rmtree(folder, ignore_errors=True)
    from sandbox.organisation import generate_organisation
    from sandbox.transcripts import write_transcripts

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-transcripts-") as scratch:
        write_transcripts(generate_organisation(preset="small", seed=seed), scratch)
        sources = sorted(Path(scratch).glob("*/projects/*/**/*.jsonl"))
        files = [(path, path.read_bytes()) for path in sources]
        one_copy = sum(len(data) for _, data in files)
        copies = max(1, -(-target_mb * 2**20 // one_copy))
        log(f"  transcripts: writing {copies} copies of {one_copy / 2**20:.0f} MB ({len(files)} files each)")
        projects = folder / "projects"
        for copy in range(copies):
            tag = f"{copy:03d}".encode()
            for path, data in files:
                person, _, project, *rest = path.relative_to(scratch).parts
                target = projects / f"c{copy:03d}-{person}-{project.lstrip('-')}" / Path(*rest)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data.replace(b'"msg_01', b'"msg_01' + tag).replace(b'"req_011C', b'"req_011C' + tag))
    described = {
        "target_mb": target_mb, "seed": seed, "copies": copies, "files": copies * len(files),
        "bytes": copies * one_copy, "seconds_to_write": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(described))
    return described


# --- our reader, in a child process ---


def _ours_child(corpus: str, keep: str, out: str) -> None:
    """keep="final": our reader as the pipeline runs it. keep="ccusage": ccusage's rule on our parser, to
    check agreement: a line with message id + request id counts once (first line wins), any other line
    counts every time, and cache writes are priced at the 5-minute rate (ccusage has no 1-hour price)."""
    from connectors.claude_transcripts import (
        Pricing, TranscriptFolder, person_folders, read_file, read_transcripts, session_files,
    )

    started = time.perf_counter()
    if keep == "final":
        reader, _ = read_transcripts([TranscriptFolder(corpus, "bench@example.com")])
        records, lines, invalid = list(reader.best.values()), reader.lines, len(reader.invalid)
    else:
        pricing, seen, records, invalid_lines = Pricing.load(), set(), [], []
        [person], _ = person_folders([TranscriptFolder(corpus, "bench@example.com")], None)
        lines = 0
        for path in session_files(person):
            for record in read_file(path, person, pricing, invalid_lines):
                lines += 1
                if record.message_id and record.request_id:
                    key = (record.message_id, record.request_id)
                    if key in seen:
                        continue
                    seen.add(key)
                records.append(record)
        invalid = len(invalid_lines)
    read_seconds = time.perf_counter() - started
    pricing = Pricing.load()
    days: dict[str, dict] = {}
    for record in records:
        cost = record.cost_usd or 0.0
        if keep != "final" and record.cost_source == "pricing":
            cost = pricing.cost(record.model, record.timestamp.date(), record.input_tokens, record.output_tokens,
                                record.cache_creation_input_tokens, 0, record.cache_read_input_tokens) or 0.0
        day = days.setdefault(record.timestamp.date().isoformat(), {
            "inputTokens": 0, "outputTokens": 0, "cacheCreationTokens": 0, "cacheReadTokens": 0,
            "totalCost": 0.0, "models": {}, "tiered": 0,
        })
        # ccusage prices a Sonnet 4.x token field above 200k at LiteLLM's long-context rate; our table
        # has one rate per model (DESIGN section 5), so such a response is where the two prices differ.
        fields = (record.input_tokens, record.output_tokens, record.cache_creation_input_tokens,
                  record.cache_read_input_tokens)
        day["tiered"] += "sonnet-4" in record.model and max(fields) > TIER_THRESHOLD
        day["inputTokens"] += record.input_tokens
        day["outputTokens"] += record.output_tokens
        day["cacheCreationTokens"] += record.cache_creation_input_tokens
        day["cacheReadTokens"] += record.cache_read_input_tokens
        day["totalCost"] += cost
        day["models"][record.model] = day["models"].get(record.model, 0.0) + cost
    Path(out).write_text(json.dumps({
        "read_seconds": read_seconds, "responses": len(records), "lines": lines, "invalid_lines": invalid,
        "days": days,
    }))


def _run_child(command: list[str], env: dict | None = None, stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit status) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        error = process.stderr.read().decode(errors="replace")[-800:] if process.stderr else ""
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {error}")
    return seconds, usage.ru_maxrss / 1024, process.returncode


def ensure_ccusage(log=print) -> Path:
    if not CCUSAGE.exists():
        log(f"  transcripts: installing ccusage@{CCUSAGE_VERSION} into {NODE_PREFIX}")
        NODE_PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund",
                        f"ccusage@{CCUSAGE_VERSION}"], check=True, capture_output=True)
    return CCUSAGE


def _compare(ours: dict, theirs: dict) -> dict:
    """Per-day differences in tokens and cost (USD), and the models whose prices differ."""
    their_days = {d["date"]: d for d in theirs.get("daily", [])}
    token_fields = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")
    worst_tokens, worst_cost, cost_agreeing_days, model_gaps = 0, 0.0, 0, defaultdict(float)
    worst_cost_same_prices, tiered_days = 0.0, 0
    for date, mine in ours["days"].items():
        other = their_days.get(date)
        if other is None:
            worst_tokens = max(worst_tokens, int(mine["outputTokens"]))
            continue
        worst_tokens = max(worst_tokens, *(abs(int(mine[f]) - int(other.get(f, 0))) for f in token_fields))
        gap = abs(mine["totalCost"] - other.get("totalCost", 0.0))
        worst_cost = max(worst_cost, gap)
        if mine.get("tiered"):
            tiered_days += 1
        else:
            worst_cost_same_prices = max(worst_cost_same_prices, gap)
        cost_agreeing_days += gap < 0.005
        their_models = {m["modelName"]: m.get("cost", 0.0) for m in other.get("modelBreakdowns", [])}
        for model, cost in mine.get("models", {}).items():
            model_gaps[model] = max(model_gaps[model], abs(cost - their_models.get(model, 0.0)))
    return {
        "days_ours": len(ours["days"]), "days_ccusage": len(their_days),
        "max_token_difference_per_day": worst_tokens,
        "days_cost_within_a_cent": cost_agreeing_days,
        "max_cost_difference_per_day_usd": round(worst_cost, 4),
        "days_with_long_context_sonnet_responses": tiered_days,
        "max_cost_difference_per_day_where_prices_agree_usd": round(worst_cost_same_prices, 6),
        "max_cost_difference_per_model_day_usd": {m: round(g, 4) for m, g in sorted(model_gaps.items())},
        "total_cost_ours_usd": round(sum(d["totalCost"] for d in ours["days"].values()), 2),
        "total_cost_ccusage_usd": round(theirs.get("totals", {}).get("totalCost", 0.0), 2),
        "output_tokens_ours": int(sum(d["outputTokens"] for d in ours["days"].values())),
        "output_tokens_ccusage": int(theirs.get("totals", {}).get("outputTokens", 0)),
    }


def run(target_mb: int = 1024, seed: int = 42, log=print) -> dict:
    corpus = BENCH / ".corpus" / f"transcripts-{seed}-{target_mb}mb"
    described = build_corpus(corpus, target_mb, seed, log)
    result: dict = {"corpus": {**described, "path": str(corpus.relative_to(BENCH.parent))}}
    with tempfile.TemporaryDirectory(prefix="bench-ours-") as scratch:
        ours = {}
        for keep in ("ccusage", "final"):
            out = Path(scratch) / f"{keep}.json"
            log(f"  transcripts: ours (keep={keep}) over {described['bytes'] / 2**30:.2f} GB")
            seconds, rss, _ = _run_child([sys.executable, "-m", "bench.transcripts", "ours", str(corpus), keep, str(out)])
            ours[keep] = {**json.loads(out.read_text()), "seconds": seconds, "peak_rss_mb": round(rss)}
    result["ours"] = {keep: {k: v for k, v in o.items() if k != "days"} for keep, o in ours.items()}
    try:
        binary = ensure_ccusage(log)
        log("  transcripts: ccusage daily --json --offline -z UTC -b")
        env = {**os.environ, "CLAUDE_CONFIG_DIR": str(corpus)}
        command = [str(binary), "daily", "--json", "--offline", "-z", "UTC", "-b"]
        attempts = []
        for heap_mb in (None, HEAP_MB):
            # Node's default heap (about 2 GB here) is not enough for ccusage on a 1 GB corpus: it aborts
            # in the garbage collector. The retry gives it a larger heap, and the result says so.
            if heap_mb is not None:
                env["NODE_OPTIONS"] = f"--max-old-space-size={heap_mb}"
            try:
                with tempfile.TemporaryFile() as captured:
                    seconds, rss, _ = _run_child(command, env, captured)
                    captured.seek(0)
                    theirs = json.loads(captured.read())
                break
            except RuntimeError as error:
                attempts.append({"node_heap_mb": heap_mb or "default", "error": str(error)[:160]})
                log(f"  transcripts: ccusage failed with the {heap_mb or 'default'} heap; "
                    + ("retrying with a larger one" if heap_mb is None else "giving up"))
                if heap_mb is not None:
                    raise
        result["ccusage"] = {"version": CCUSAGE_VERSION, "seconds": seconds, "peak_rss_mb": round(rss),
                             "days": len(theirs.get("daily", [])), "failed_attempts": attempts,
                             "node_options": env.get("NODE_OPTIONS")}
        result["agreement_same_rule"] = _compare(ours["ccusage"], theirs)
        result["agreement_our_rule"] = _compare(ours["final"], theirs)
        result["speed_ratio_ccusage_over_ours"] = round(seconds / ours["final"]["seconds"], 1)
        result["memory_ratio_ccusage_over_ours"] = round(rss / ours["final"]["peak_rss_mb"], 1)
    except (OSError, RuntimeError, subprocess.CalledProcessError, ValueError) as error:
        result["ccusage"] = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
    return result


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "ours":
        _ours_child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: python -m bench.transcripts ours <corpus> <first|final> <out.json>")
