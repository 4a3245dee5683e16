"""Claude Code's local session transcripts (`~/.claude/projects/<dir>/<session>.jsonl`), per developer.

Written as Claude Code writes them (SOURCES.md, "Local session transcripts"), with every pitfall that
public readers of these files hit, so that the connector is tested against them:

- streaming snapshots: one API response on 2-3 lines with the same `message.id` + `requestId`, the
  earlier ones with a partial `output_tokens` and `stop_reason` null, the last one final;
- resumed sessions: a new session file that starts with verbatim copies of the earlier session's lines;
- subagents: `<session-id>/subagents/agent-<id>.jsonl`, `isSidechain` true, and in the parent a `user`
  line whose `toolUseResult.usage` repeats the subagent's spend (not usage);
- subagent files written without `requestId` (with snapshots, so only `message.id` can merge them);
- API error lines (`isApiErrorMessage`, model `<synthetic>`, zero usage);
- a truncated last line (a session still being written);
- sessions on the default branch, a session left running overnight across UTC midnight;
- older-version lines (before `OLD_VERSION_UNTIL`) carrying `costUSD` and no 5m/1h cache split.

Days follow the analytics report: a developer writes transcripts on exactly the days the report has
(plus the morning after an overnight session), with the report's models and number of sessions. Token
counts are the transcripts' own: another source, not a copy of the report.

`generate_transcripts(org)` is a pure function of the organisation (same seed, same bytes);
`write_transcripts(org, folder)` writes `<folder>/<email>/projects/<dir>/<session-id>.jsonl` (a folder
per person, named by an identity of the team mapping, as `claude_code.transcripts` expects) and
`sandbox.ground_truth.write_transcript_truth` writes the answer key: one row per counted API response,
with its final numbers and its cost by the rule of DESIGN section 5 (`costUSD` where the line has it,
else the list prices below, the 1-hour cache write at its own price), and daily totals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid as uuidlib
from collections.abc import Collection
from pathlib import Path

from sandbox.claude_usage import OPUS, OVERNIGHT_NOT_BEFORE, SONNET, overnight_days
from sandbox.clock import day_start
from sandbox.entities import Developer, PullRequest, UsageDay
from sandbox.organisation import Organisation
from sandbox.rng import Stream, stable_sha

OLD_VERSION = "1.0.58"
NEW_VERSIONS = ("2.0.14", "2.0.37", "2.0.55")
#: Sessions on days before this one are written by an older Claude Code: `costUSD`, no cache split.
OLD_VERSION_UNTIL = OVERNIGHT_NOT_BEFORE
#: List prices (USD per million tokens): input, output, 5-minute cache write, 1-hour cache write, cache read.
#: Kept here independently of connectors/data/model_pricing.csv, so the answer key checks that table.
LIST_PRICES = {
    SONNET: (3.0, 15.0, 3.75, 6.0, 0.30),
    OPUS: (15.0, 75.0, 18.75, 30.0, 1.50),
}
IDLE_SECONDS = 300


@dataclasses.dataclass(frozen=True)
class Response:
    """One counted API response: what a correct reader must find, with its final numbers."""

    email: str
    session_id: str
    message_id: str
    request_id: str | None
    timestamp: dt.datetime  # of the final line
    model: str
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cache_creation_5m: int | None
    cache_creation_1h: int | None
    is_sidechain: bool
    cost_usd: float
    cost_source: str  # costUSD | pricing
    cwd: str
    git_branch: str
    lines: int  # how many lines it was written on (snapshots)
    first_line_output_tokens: int  # what a first-line-wins reader counts


@dataclasses.dataclass
class TranscriptWorld:
    files: dict[str, list[str]]  # path relative to the root folder -> lines (the last may be truncated)
    responses: list[Response]
    #: quirk -> relative file paths (or session ids) where it was planted
    quirks: dict[str, list[str]]


def _ts(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _uuid(*parts: object) -> str:
    return str(uuidlib.UUID(stable_sha("transcript-uuid", *parts)[:32]))


def _api_id(prefix: str, *parts: object) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    number = int(stable_sha(prefix, *parts), 16)
    chars = []
    for _ in range(24):
        number, rest = divmod(number, len(alphabet))
        chars.append(alphabet[rest])
    return prefix + "".join(chars)


def _cost(model: str, usage: dict) -> float:
    price_in, price_out, price_5m, price_1h, price_read = LIST_PRICES[model]
    split = usage.get("cache_creation")
    if split is not None:
        creation = split["ephemeral_5m_input_tokens"] * price_5m + split["ephemeral_1h_input_tokens"] * price_1h
    else:
        creation = usage["cache_creation_input_tokens"] * price_5m
    return (
        usage["input_tokens"] * price_in + usage["output_tokens"] * price_out + creation
        + usage["cache_read_input_tokens"] * price_read
    ) / 1_000_000


class _Session:
    """Writes one session file's lines (and its subagents' files) and records the responses."""

    def __init__(self, world: TranscriptWorld, stream: Stream, developer: Developer, session_id: str, cwd: str,
                 branch: str, version: str, path: str, *, sidechain: bool = False, agent_id: str | None = None,
                 with_request_id: bool = True):
        self.world, self.stream, self.developer = world, stream, developer
        self.session_id, self.cwd, self.branch, self.version = session_id, cwd, branch, version
        self.path, self.sidechain, self.agent_id, self.with_request_id = path, sidechain, agent_id, with_request_id
        self.lines: list[str] = []
        self.parent: str | None = None
        self.counter = 0
        self.context = stream.integer(12_000, 24_000)  # the cached prompt grows as the session goes on
        self.usage_total = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                            "cache_read_input_tokens": 0}
        world.files[path] = self.lines

    @property
    def old(self) -> bool:
        return self.version == OLD_VERSION

    def _base(self, kind: str, moment: dt.datetime) -> dict:
        self.counter += 1
        line_uuid = _uuid(self.path, self.counter)
        base = {"parentUuid": self.parent, "isSidechain": self.sidechain, "userType": "external", "cwd": self.cwd,
                "sessionId": self.session_id, "version": self.version, "gitBranch": self.branch}
        if self.agent_id:
            base["agentId"] = self.agent_id
        base.update({"type": kind, "uuid": line_uuid, "timestamp": _ts(moment)})
        self.parent = line_uuid
        return base

    def _write(self, line: dict) -> None:
        self.lines.append(json.dumps(line, separators=(",", ":")))

    def user(self, moment: dt.datetime, text: str, tool_result: dict | None = None) -> None:
        line = self._base("user", moment)
        if tool_result is None:
            line["message"] = {"role": "user", "content": text}
        else:
            line["message"] = {"role": "user", "content": [
                {"tool_use_id": tool_result["tool_use_id"], "type": "tool_result", "content": text}]}
            line["toolUseResult"] = tool_result["result"]
        self._write(line)

    def system(self, moment: dt.datetime, text: str) -> None:
        line = self._base("system", moment)
        line.update({"subtype": "informational", "content": text, "isMeta": False, "level": "info"})
        self._write(line)

    def api_error(self, moment: dt.datetime) -> None:
        line = self._base("assistant", moment)
        zero = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0, "server_tool_use": {"web_search_requests": 0}, "service_tier": None}
        line["message"] = {
            "id": _uuid(self.path, self.counter, "error"), "container": None, "model": "<synthetic>",
            "role": "assistant", "stop_reason": "stop_sequence", "stop_sequence": "", "type": "message",
            "usage": zero, "content": [{"type": "text", "text": "API Error: 529 {\"type\":\"error\",\"error\":"
                                        "{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"}],
        }
        line["isApiErrorMessage"] = True
        self._write(line)

    def response(self, moment: dt.datetime, model: str, *, big: bool = False, snapshots: int | None = None,
                 tool: str = "Edit") -> tuple[dt.datetime, str]:
        """One API response, on one or several lines; returns its last time and its tool_use id."""
        s = self.stream
        if self.context > 150_000:  # auto-compact: the context starts small again
            self.context = s.integer(15_000, 25_000)
        message_id = _api_id("msg_01", self.path, self.counter, "message")
        request_id = _api_id("req_011C", self.path, self.counter, "request") if self.with_request_id else None
        cache_read = self.context if not big else self.context + s.integer(60_000, 120_000)
        creation = s.integer(200, 6_000) if s.chance(0.8) else s.integer(8_000, 30_000)
        self.context += creation // 2
        input_tokens = s.integer(3, 40) if s.chance(0.85) else s.integer(200, 4_000)
        output_tokens = int(s.lognormal(700 if not big else 1_200, 0.8)) + 20
        usage = {"input_tokens": input_tokens, "cache_creation_input_tokens": creation,
                 "cache_read_input_tokens": cache_read, "output_tokens": output_tokens}
        split_5m = split_1h = None
        if not self.old:
            split_1h = creation if s.chance(0.25) else (creation // 3 if s.chance(0.1) else 0)
            split_5m = creation - split_1h
            usage["cache_creation"] = {"ephemeral_5m_input_tokens": split_5m, "ephemeral_1h_input_tokens": split_1h}
            usage["service_tier"] = "standard"
        if snapshots is None:
            snapshots = 1 if self.old else (s.integer(2, 3) if s.chance(0.5) else 1)
        fractions = sorted(s.uniform(0.05, 0.6) for _ in range(snapshots - 1))
        tool_id = "toolu_01" + _api_id("", self.path, self.counter, "tool")[:22]
        content_kinds = ["thinking", "text"][: snapshots - 1]
        first_output = None
        when = moment
        for index in range(snapshots):
            final = index == snapshots - 1
            line_usage = dict(usage)
            if not final:
                line_usage["output_tokens"] = max(1, int(output_tokens * fractions[index]))
            if first_output is None:
                first_output = line_usage["output_tokens"]
            line = self._base("assistant", when)
            if final:
                block = {"type": "tool_use", "id": tool_id, "name": tool, "input": {"file_path": f"{self.cwd}/src/x.py"}}
            elif content_kinds[index] == "thinking":
                block = {"type": "thinking", "thinking": "Let me look at the code first.", "signature": "EqQB"}
            else:
                block = {"type": "text", "text": "I'll make that change."}
            line["message"] = {"id": message_id, "type": "message", "role": "assistant", "model": model,
                               "content": [block], "stop_reason": "tool_use" if final else None,
                               "stop_sequence": None, "usage": line_usage}
            if request_id is not None:
                line["requestId"] = request_id
            if self.old:
                line["costUSD"] = round(_cost(model, line_usage), 6)
            self._write(line)
            if not final:
                when += dt.timedelta(milliseconds=s.integer(400, 3_000))
        cost = round(_cost(model, usage), 6) if self.old else _cost(model, usage)
        for key in self.usage_total:
            self.usage_total[key] += usage[key]
        self.world.responses.append(Response(
            email=self.developer.email, session_id=self.session_id, message_id=message_id, request_id=request_id,
            timestamp=when, model=model, input_tokens=input_tokens, output_tokens=output_tokens,
            cache_creation_tokens=creation, cache_read_tokens=cache_read, cache_creation_5m=split_5m,
            cache_creation_1h=split_1h, is_sidechain=self.sidechain, cost_usd=cost,
            cost_source="costUSD" if self.old else "pricing", cwd=self.cwd, git_branch=self.branch,
            lines=snapshots, first_line_output_tokens=int(first_output or 0),
        ))
        return when, tool_id


def _branch(stream: Stream, pulls: list[PullRequest], repo: str, moment: dt.datetime, end: dt.datetime) -> str:
    """A head branch of one of the developer's PRs being worked on then (DESIGN section 5's window), or main."""
    active = [
        pr for pr in pulls
        if pr.repository == repo and pr.commits[0].authored_at - dt.timedelta(days=7) <= moment
        and moment <= (pr.merged_at or pr.closed_at or end)
    ]
    if not active or stream.chance(0.15):
        return "main"
    return stream.choice(active).head_ref


def generate_transcripts(org: Organisation) -> TranscriptWorld:
    world = TranscriptWorld(files={}, responses=[], quirks={})
    quirks = world.quirks
    for name in ("snapshots", "resumed", "subagent", "no_request_id", "api_error", "tool_use_result_usage",
                 "truncated", "default_branch", "overnight", "across_midnight", "cost_usd"):
        quirks[name] = []
    repos_of_team: dict[str, list[str]] = {}
    for repo in org.repository_details:
        repos_of_team.setdefault(repo.team_id, []).append(repo.full_name)
    pulls_of: dict[str, list[PullRequest]] = {}
    for pulls in org.pull_requests.values():
        for pr in pulls:
            pulls_of.setdefault(pr.author_login, []).append(pr)
    by_email = {d.email: d for d in org.developers}
    days_of: dict[str, list[UsageDay]] = {}
    for day in org.usage:
        days_of.setdefault(day.email, []).append(day)

    # The overnight sessions: one per 30 developers, on a day followed by another day with use (the
    # report's cost of that day is high too: sandbox.claude_usage plants the same days).
    overnight = set(overnight_days(org.usage, org.seed, len(org.developers)))
    end = org.observed_at
    latest: tuple[dt.datetime, _Session] | None = None

    for email in sorted(days_of):
        developer = by_email[email]
        stream = Stream(org.seed, "transcripts", developer.login)
        repos = repos_of_team.get(developer.team_id) or org.repositories
        root = f"{email}/projects"
        for day in days_of[email]:
            version = OLD_VERSION if day.date < OLD_VERSION_UNTIL else stream.choice(NEW_VERSIONS)
            moment = day_start(day.date) + dt.timedelta(seconds=stream.integer(8 * 3600, 10 * 3600))
            previous: _Session | None = None
            for index in range(day.sessions):
                models = [m.model for m in day.models]
                models = models if day.sessions == 1 else [models[index % len(models)]]
                repo = stream.choice(repos)
                repo_name = repo.split("/")[-1]
                cwd = f"/home/{developer.login}/src/{repo_name}"
                branch = _branch(stream, pulls_of.get(developer.login, []), repo, moment, end)
                session_id = _uuid(org.seed, email, day.date, index, "session")
                project = cwd.replace("/", "-")
                path = f"{root}/{project}/{session_id}.jsonl"
                is_overnight = (email, day.date) in overnight and index == day.sessions - 1
                resumed = (
                    previous is not None and not previous.old and previous.cwd == cwd and stream.chance(0.08)
                )
                if resumed:
                    branch = previous.branch
                session = _Session(world, stream, developer, session_id, cwd, branch, version, path)
                if branch == "main":
                    quirks["default_branch"].append(path)
                if resumed:
                    # A resumed session: a summary line, then the earlier session's lines repeated verbatim.
                    session.lines.append(json.dumps({"type": "summary", "summary": "Fix the failing tests",
                                                     "leafUuid": previous.parent}, separators=(",", ":")))
                    session.lines.extend(previous.lines)
                    session.parent = previous.parent
                    quirks["resumed"].append(path)
                if is_overnight:
                    moment = day_start(day.date) + dt.timedelta(seconds=stream.integer(21 * 3600, 22 * 3600 + 1800))
                    stop = day_start(day.date) + dt.timedelta(days=1, seconds=stream.integer(6 * 3600, 7 * 3600))
                    quirks["overnight"].append(path)
                    quirks["across_midnight"].append(path)
                else:
                    stop = None
                moment = _run_session(world, stream, session, models, moment, stop, org.seed)
                if latest is None or moment > latest[0]:
                    latest = (moment, session) if not session.old else latest
                if session.old:
                    quirks["cost_usd"].append(path)
                previous = session
                moment += dt.timedelta(seconds=stream.integer(600, 5_400))

    # The truncated last line: the newest session is still being written.
    if latest is not None:
        _, session = latest
        session.response(latest[0] + dt.timedelta(seconds=20), SONNET, snapshots=1)
        world.responses.pop()  # never readable: not counted
        session.lines[-1] = session.lines[-1][: len(session.lines[-1]) // 2]
        quirks["truncated"].append(f"{session.path}:{len(session.lines)}")
    quirks["snapshots"] = sorted({r.session_id for r in world.responses if r.lines > 1})
    quirks["no_request_id"] = sorted({r.session_id for r in world.responses if r.request_id is None})
    return world


def _run_session(world: TranscriptWorld, stream: Stream, session: _Session, models: list[str], moment: dt.datetime,
                 stop: dt.datetime | None, seed: int) -> dt.datetime:
    """Turns of a session from `moment`; an overnight session runs an agent loop until `stop`."""
    quirks = world.quirks
    turns = stream.integer(1, 3) if stop is None else 10_000
    count = 0
    if not session.old:
        session.lines.append(json.dumps({"type": "file-history-snapshot", "messageId": _uuid(session.path, "fhs"),
                                         "snapshot": {"trackedFileBackups": {}, "timestamp": _ts(moment)},
                                         "isSnapshotUpdate": False}, separators=(",", ":")))
    for turn in range(turns):
        if stop is not None and moment >= stop:
            break
        session.user(moment, "Please fix the failing test in the payments module." if turn == 0 else "Continue.")
        moment += dt.timedelta(milliseconds=stream.integer(1_500, 6_000))
        for _ in range(stream.integer(1, 3) if stop is None else stream.integer(6, 10)):
            model = models[count % len(models)]
            count += 1
            if stop is None and stream.chance(0.01):
                session.api_error(moment)
                quirks["api_error"].append(session.path)
                moment += dt.timedelta(seconds=stream.integer(5, 30))
            moment, tool_id = session.response(moment, model, big=stop is not None)
            moment += dt.timedelta(milliseconds=stream.integer(300, 4_000))
            if not session.old and stop is None and stream.chance(0.03):
                moment = _subagent(world, stream, session, model, tool_id, moment, seed)
            else:
                session.user(moment, "ok", {"tool_use_id": tool_id, "result": {"type": "update", "filePath": "x.py"}})
            gap = stream.integer(5, 240) if stop is None else stream.integer(30, 150)
            if stop is None and stream.chance(0.1):
                gap = stream.integer(IDLE_SECONDS + 60, 1_800)
            moment += dt.timedelta(seconds=gap)
        if stop is None and stream.chance(0.2):
            session.system(moment, "Conversation compacted")
    return moment


def _subagent(world: TranscriptWorld, stream: Stream, parent: _Session, model: str, tool_id: str,
              moment: dt.datetime, seed: int) -> dt.datetime:
    """A Task subagent: its own file beside the session, and the parent's tool result repeating its usage."""
    agent_id = stable_sha("agent", parent.path, parent.counter)[:8]
    folder = parent.path[: -len(".jsonl")]
    path = f"{folder}/subagents/agent-{agent_id}.jsonl"
    with_request_id = not stream.chance(0.3)
    agent = _Session(world, stream, parent.developer, parent.session_id, parent.cwd, parent.branch,
                     parent.version, path, sidechain=True, agent_id=agent_id, with_request_id=with_request_id)
    agent.user(moment, "Search the codebase for the retry logic.")
    for _ in range(stream.integer(2, 5)):
        moment += dt.timedelta(seconds=stream.integer(2, 20))
        # Without requestId, give every response snapshots: only message.id can merge them.
        moment, agent_tool = agent.response(moment, model, snapshots=None if with_request_id else 2, tool="Grep")
        moment += dt.timedelta(milliseconds=stream.integer(200, 2_000))
        agent.user(moment, "found", {"tool_use_id": agent_tool, "result": {"type": "text", "file": "retry.py"}})
    world.quirks["subagent"].append(path)
    if not with_request_id:
        world.quirks.setdefault("no_request_id_files", []).append(path)
    moment += dt.timedelta(seconds=stream.integer(1, 10))
    total = dict(agent.usage_total)
    parent.user(moment, "The retry logic lives in retry.py", {"tool_use_id": tool_id, "result": {
        "status": "completed", "agentId": agent_id, "totalDurationMs": 30_000, "totalTokens": sum(total.values()),
        "totalToolUseCount": 3, "usage": total}})
    world.quirks["tool_use_result_usage"].append(parent.path)
    return moment


def write_transcripts(org: Organisation, folder: str | Path, emails: Collection[str] | None = None) -> TranscriptWorld:
    """Write every developer's transcripts under `folder/<email>/projects/...`; returns what was generated.

    `emails` writes only those developers' folders (a quick corpus for a test); the world returned is
    still the whole organisation's.
    """
    folder = Path(folder)
    world = generate_transcripts(org)
    for relative, lines in world.files.items():
        if emails is not None and relative.split("/", 1)[0] not in emails:
            continue
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        truncated = any(q.startswith(relative + ":") for q in world.quirks["truncated"])
        text = "\n".join(lines) + ("" if truncated else "\n")
        target.write_text(text, encoding="utf-8")
    return world
