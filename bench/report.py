"""bench/results.json -> bench/results.md (the README's table) and the terminal summary of ratios."""

from __future__ import annotations


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _api(part: dict, lines: list[str], summary: list[str]) -> None:
    lines += ["## API cost (sandbox `small`, requests counted by the sandbox)", "",
              "| source | API | sync | requests | per 1,000 PRs | per repository | seconds |",
              "|---|---|---|---:|---:|---:|---:|"]
    for row in part["rows"]:
        per_thousand = row.get("requests_per_1000_prs")
        if row["source"] == "anthropic":
            per_thousand = None
        lines.append(
            f"| {row['source']} | {row['api']} | {row['sync']} | {_fmt(row['requests'])} | {_fmt(per_thousand)} | "
            f"{_fmt(row.get('requests_per_repository'), 2)} | {_fmt(row.get('seconds'), 1)} |")
    anthropic = next((r for r in part["rows"] if r["source"] == "anthropic"), None)
    s = part["summary"]
    lines += ["", f"GraphQL records equal REST records row for row: **{part['checks'].get('graphql_records_equal_rest')}** "
              f"({_fmt(part['checks'].get('pull_requests_compared'))} pull requests).",
              f"Full sync: REST {s['rest_full_requests_per_pr']} requests per PR, GraphQL {s['graphql_full_requests_per_pr']} "
              f"({s['rest_over_graphql']}x fewer); the best-known open-source alternative spends "
              f"{s['peer_requests_per_pr_quoted'][0]:.0f}-{s['peer_requests_per_pr_quoted'][1]:.0f} per PR over REST "
              f"(quoted in issue 8, not run here): {s['peer_over_graphql'][0]:.0f}-{s['peer_over_graphql'][1]:.0f}x ours over GraphQL.",
              f"Why REST cannot reach 1.1 per PR: {s['rest_floor_explained']}"]
    if anthropic:
        lines.append(f"Claude Code analytics: {anthropic['requests']} requests for {anthropic['actor_days']:,} actor-days "
                     f"({anthropic['requests_per_actor_day']} per actor-day, {anthropic['requests_per_day']} per day).")
    lines.append("")
    summary.append(f"API cost: full sync REST {s['rest_full_requests_per_pr']} req/PR, GraphQL "
                   f"{s['graphql_full_requests_per_pr']} req/PR; peer (quoted) 2-3 req/PR = "
                   f"{s['peer_over_graphql'][0]:.0f}-{s['peer_over_graphql'][1]:.0f}x ours")


def _pipeline(part: dict, lines: list[str], summary: list[str]) -> None:
    lines += ["## Pipeline time and peak memory per stage", "",
              "| preset | stage | seconds | peak RSS (MB) | notes |", "|---|---|---:|---:|---|"]
    for preset, result in part["presets"].items():
        for stage, measured in result["stages"].items():
            details = measured.get("details", {})
            if "error" in measured:
                lines.append(f"| {preset} | {stage} | failed | | {measured['error'][-160:].replace('|', '/')} |")
                continue
            note = ""
            if stage == "extract" and details:
                if result.get("mode") == "extract":
                    note = (f"generate {details['generate_seconds']} s, transcripts+truth "
                            f"{details['ground_truth_and_transcripts_seconds']} s, syncs {details['extract_and_land_seconds']} s "
                            f"(of which land {details['land_and_validate_seconds'] - details['validate_seconds']:.1f} s, "
                            f"validate {details['validate_seconds']} s), {details['requests']:,} requests, GitHub {details['github_api']}")
                else:
                    note = (f"generate {details['generate_seconds']} s; HTTP extract of {details['sample_repositories']} repos "
                            f"({details['sample_pull_requests']:,} PRs, GitHub {details['github_api']}) "
                            f"{details['sample_extract_and_land_seconds']} s -> all "
                            f"~{details['extract_and_land_seconds_extrapolated']} s extrapolated; facts->records "
                            f"{details['convert_facts_to_records_seconds']} s; land {details['land_and_validate_seconds'] - details['validate_seconds']:.1f} s, "
                            f"validate {details['validate_seconds']} s")
            if stage == "dbt build, re-run":
                note = "nothing new landed: incremental facts re-select almost nothing; not in the total below"
            lines.append(f"| {preset} | {stage} | {_fmt(measured.get('seconds'))} | {_fmt(measured.get('peak_rss_mb'))} | {note} |")
        lines.append(f"| {preset} | **after extraction** (land, validate, dbt, analysis, report) | "
                     f"**{_fmt(result.get('after_extraction_seconds'))}** | {_fmt(result.get('peak_rss_mb_after_extraction'))} | |")
        summary.append(f"pipeline {preset}: after extraction {_fmt(result.get('after_extraction_seconds'))} s, "
                       f"peak RSS after extraction {_fmt(result.get('peak_rss_mb_after_extraction'))} MB")
    for preset, result in part.get("presets", {}).items():
        if result.get("measured_apart"):  # a preset run on its own, in other conditions than the rows above
            lines += ["", f"`{preset}`: {result['measured_apart']}"]
    for key, label in (("growth_medium_over_small", "medium / small"), ("growth_large_over_medium", "large / medium")):
        growth = part.get(key)
        if growth:
            lines += ["", f"Growth {label}: " + ", ".join(
                f"{k} {v['time']}x time" + (f", {v['peak_rss']}x memory" if "peak_rss" in v else "")
                for k, v in growth.items() if isinstance(v, dict)) + f" for {growth.get('pull_requests')}x the pull requests."]
    lines.append("")


def _transcripts(part: dict, lines: list[str], summary: list[str]) -> None:
    corpus = part["corpus"]
    ours = part["ours"]["final"]
    lines += [f"## Claude Code transcripts: ours vs ccusage {part.get('ccusage', {}).get('version', '')}", "",
              f"Corpus: {corpus['bytes'] / 2**30:.2f} GB, {corpus['files']:,} session files "
              f"({corpus['copies']} id-rewritten copies of the sandbox's transcripts).", "",
              "| reader | seconds | peak RSS (MB) | responses counted |", "|---|---:|---:|---:|",
              f"| ours (final snapshot) | {_fmt(ours['seconds'])} | {_fmt(ours['peak_rss_mb'])} | {_fmt(ours['responses'])} |",
              f"| ours, ccusage's counting rule | {_fmt(part['ours']['ccusage']['seconds'])} | "
              f"{_fmt(part['ours']['ccusage']['peak_rss_mb'])} | {_fmt(part['ours']['ccusage']['responses'])} |"]
    cc = part.get("ccusage", {})
    if "error" in cc:
        lines += ["", f"ccusage did not run: {cc['error']}", ""]
        return
    lines.append(f"| ccusage daily --offline -b | {_fmt(cc['seconds'])} | {_fmt(cc['peak_rss_mb'])} | |")
    if cc.get("failed_attempts"):
        lines += ["", f"ccusage aborted (V8 out of memory in the garbage collector) with Node's default heap on "
                  f"this corpus; its numbers are from a retry with `NODE_OPTIONS={cc.get('node_options')}`."]
    same, ours_rule = part["agreement_same_rule"], part["agreement_our_rule"]
    lines += ["", f"Speed: ours is **{part['speed_ratio_ccusage_over_ours']}x** faster than ccusage, using "
              f"{part['memory_ratio_ccusage_over_ours']}x less memory.",
              f"Same counting rule: daily tokens differ by at most {same['max_token_difference_per_day']:,}; "
              f"daily cost within a cent on {same['days_cost_within_a_cent']} of {same['days_ccusage']} days, and on every day "
              f"where the prices agree (max gap {same['max_cost_difference_per_day_where_prices_agree_usd']} USD). "
              f"The {same['days_with_long_context_sonnet_responses']} other days hold Sonnet 4.x responses with a token "
              f"field above 200k, which ccusage prices at LiteLLM's long-context rate (max gap "
              f"{same['max_cost_difference_per_day_usd']} USD a day).",
              f"Our rule vs ccusage: ccusage keeps the first streaming snapshot of a response (and prices 1-hour cache "
              f"writes at the 5-minute rate), so it reports {same['output_tokens_ccusage']:,} output tokens and "
              f"${same['total_cost_ccusage_usd']:,.2f} where the final snapshots hold {ours_rule['output_tokens_ours']:,} "
              f"and ${ours_rule['total_cost_ours_usd']:,.2f}.", ""]
    summary.append(f"transcripts ({corpus['bytes'] / 2**30:.2f} GB): ours {ours['seconds']:.0f} s vs ccusage "
                   f"{cc['seconds']:.0f} s = {part['speed_ratio_ccusage_over_ours']}x faster, "
                   f"{part['memory_ratio_ccusage_over_ours']}x less memory; tokens equal under the same rule")


def _causal(part: dict, lines: list[str], summary: list[str]) -> None:
    lines += ["## Causal step: our att_gt vs csdid and differences (doubly robust, never-treated controls)", "",
              "| panel | rows | cells | ours (s) | package | package (s) | time ratio | max abs difference | equal to 1e-6 |",
              "|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for row in part["rows"]:
        for peer, result in row["peers"].items():
            if "error" in result:
                lines.append(f"| {row['panel']} | {row['rows']:,} | {row['cells']} | {row['ours_seconds']} | {peer} | failed | | | {result['error'][:80]} |")
                continue
            lines.append(
                f"| {row['panel']} | {row['rows']:,} | {row['cells']} | {row['ours_seconds']} | {peer} | {result['seconds']} | "
                f"{result['time_ratio_peer_over_ours']}x | {result['max_abs_difference']:.1e} | {result['equal_to_1e-6']} |")
            summary.append(f"causal {row['panel']}: {peer} {result['time_ratio_peer_over_ours']}x slower, "
                           f"max diff {result['max_abs_difference']:.1e}")
    lines.append("")


def render(results: dict) -> tuple[str, str]:
    m, v = results["machine"], results["versions"]
    lines = ["# Benchmark results", "",
             f"Machine: {m['cpu']}, {m['cores_logical']} logical cores, {m['ram_gb']} GB RAM, {m['os']}; Python "
             f"{m['python']}, Node {m['node']}. Load average at start {m['load_average_at_start']} (shared machine: "
             "other jobs ran at the same time, so times are pessimistic).",
             "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val) + ".",
             f"Seed {results['seed']}; commit {results.get('git_commit')}; recorded {m['started_at']}; "
             f"{'quick' if results.get('quick') else 'full'} run of the parts last run. Reproduce: `make bench` "
             "(or `make bench-quick`).", ""]
    summary: list[str] = []
    renderers = {"api": _api, "pipeline": _pipeline, "transcripts": _transcripts, "causal": _causal}
    for name, part in results["parts"].items():
        if "error" in part:
            lines += [f"## {name}: failed", "", f"`{part['error'][:300]}`", ""]
            summary.append(f"{name}: FAILED ({part['error'][:120]})")
            continue
        try:
            renderers[name](part, lines, summary)
        except (KeyError, TypeError, ZeroDivisionError) as error:
            lines += [f"## {name}: could not be tabulated ({type(error).__name__}: {error})", ""]
        if part.get("quick"):
            lines.append(f"_({name}: quick run, recorded {part.get('recorded_at')}, {part.get('part_seconds')} s)_\n")
        else:
            lines.append(f"_({name}: recorded {part.get('recorded_at')}, {part.get('part_seconds')} s)_\n")
    return "\n".join(lines), "\n".join(summary)
