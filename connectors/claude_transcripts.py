"""Claude Code's local session transcripts: `projects/**/*.jsonl`, collected from developers' machines.

Transcripts carry no user identity, so the configuration says whose they are (DESIGN section 2): a
folder with `developer` set is one person's `~/.claude` (or `~/.config/claude`, or its `projects/`);
a folder without it holds one subfolder per person, named by an email, GitHub login or Jira account of
the team mapping. Folders that match nobody are still read, and reported.

Counting rule (SOURCES.md, "Local session transcripts"): only `assistant` lines with a `message.usage`
are usage; API error lines (`isApiErrorMessage`, model `<synthetic>`) and a `user` line's
`toolUseResult.usage` (a subagent's spend repeated, which its own sidechain lines already carry) are
not. One API response is counted once across all files, with the numbers of its final line:

- key: `message.id` + `requestId` when the line has both (what ccusage uses);
- a line without `requestId` is keyed by `message.id` alone: a message id names one API response, so
  this merges its streaming snapshots and its copies in resumed sessions. (Keying such lines by
  `message.id` + `uuid` instead, as some readers do, counts every snapshot again: each line has its own
  uuid.) A line with neither a message id nor a request id is keyed by its `uuid`, which at least
  merges verbatim copies;
- of the lines of one key, the one with the largest `output_tokens` wins (the final snapshot; input
  and cache counts are the same on all of them); ties go to the earliest (timestamp, file, line), so
  the choice does not depend on the order files are listed in. First-line-wins (ccusage) undercounts.

Cost of a response: the line's `costUSD` where it has one (older versions), else tokens x the dated
list prices in `connectors/data/model_pricing.csv` (longest model prefix, latest `effective_from` on or
before the response's day), pricing the 1-hour cache write at its own price where the split is given.

Files are read line by line (bounded memory per file); what is kept is one record per distinct
response. A line that is not valid JSON (a session still being written ends mid-line) is skipped and
reported with its file and line number; the rest of the file is read.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from connectors.http import SourceError
from connectors.records import ClaudeTranscriptMessage, TeamMember

SOURCE = "claude_transcripts"
PRICING_CSV = Path(__file__).parent / "data" / "model_pricing.csv"
SYNTHETIC_MODEL = "<synthetic>"

log = logging.getLogger(__name__)

try:  # orjson (a dependency of the lock already) parses a line ~3x faster than json
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - the plain parser gives the same objects
    _loads = json.loads


# --- pricing ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelPrice:
    model_prefix: str
    effective_from: dt.date
    input: float  # USD per million tokens
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


class Pricing:
    """The dated price table: `price(model, day)` picks the longest matching prefix valid on that day."""

    def __init__(self, prices: Iterable[ModelPrice]) -> None:
        self._prices = sorted(prices, key=lambda p: (-len(p.model_prefix), p.model_prefix, p.effective_from))
        self._memo: dict[tuple[str, dt.date], ModelPrice | None] = {}  # a corpus has few models and days

    @classmethod
    def load(cls, path: Path = PRICING_CSV) -> Pricing:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            return cls(
                ModelPrice(
                    model_prefix=row["model_prefix"].strip(),
                    effective_from=dt.date.fromisoformat(row["effective_from"].strip()),
                    input=float(row["input"]), output=float(row["output"]),
                    cache_write_5m=float(row["cache_write_5m"]), cache_write_1h=float(row["cache_write_1h"]),
                    cache_read=float(row["cache_read"]),
                )
                for row in csv.DictReader(handle)
            )

    def price(self, model: str, day: dt.date) -> ModelPrice | None:
        key = (model, day)
        if key not in self._memo:
            self._memo[key] = self._lookup(model, day)
        return self._memo[key]

    def _lookup(self, model: str, day: dt.date) -> ModelPrice | None:
        best: ModelPrice | None = None
        for price in self._prices:
            if not model.startswith(price.model_prefix):
                continue
            if best is not None and len(price.model_prefix) < len(best.model_prefix):
                break
            if price.effective_from <= day and (best is None or price.effective_from >= best.effective_from):
                best = price
        return best

    def cost(self, model: str, day: dt.date, input_tokens: int, output_tokens: int, cache_5m: int, cache_1h: int,
             cache_read: int) -> float | None:
        price = self.price(model, day)
        if price is None:
            return None
        return (
            input_tokens * price.input + output_tokens * price.output + cache_5m * price.cache_write_5m
            + cache_1h * price.cache_write_1h + cache_read * price.cache_read
        ) / 1_000_000


# --- folders and people ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TranscriptFolder:
    """One `claude_code.transcripts` entry: a folder and, optionally, whose it is."""

    path: Path
    developer: str | None = None


@dataclasses.dataclass(frozen=True)
class PersonFolder:
    identity: str  # the configured developer, or the person folder's name
    email: str | None  # resolved through the team mapping; None when nobody matches
    projects: Path  # the `projects/` folder (or the folder itself when it holds the projects)
    base: Path  # file paths in records are relative to this (the configured folder)


def identity_index(members: Iterable[TeamMember]) -> dict[str, str]:
    """Lower-cased email, GitHub login and Jira account id -> email."""
    index: dict[str, str] = {}
    for member in members:
        for identity in (member.email, member.github_login, member.jira_account_id):
            if identity:
                index[identity.lower()] = member.email
    return index


def resolve_identity(identity: str, index: dict[str, str] | None) -> str | None:
    """The person's email; without a team mapping an email-looking identity stands for itself."""
    if index is None:
        return identity.lower() if "@" in identity else None
    return index.get(identity.strip().lower())


def _projects_folder(folder: Path) -> Path:
    for candidate in (folder / "projects", folder / ".claude" / "projects", folder / ".config" / "claude" / "projects"):
        if candidate.is_dir():
            return candidate
    return folder


def person_folders(
    sources: Iterable[TranscriptFolder], index: dict[str, str] | None
) -> tuple[list[PersonFolder], list[str]]:
    """Every person's projects folder, and the identities that matched nobody (reported, still read)."""
    people: list[PersonFolder] = []
    unmatched: list[str] = []
    for source in sources:
        root = Path(source.path)
        if not root.is_dir():  # a typo in the config, not a person without sessions: stop and say so
            raise SourceError(
                SOURCE, f"the transcripts folder {root} does not exist",
                "Fix claude_code.transcripts (or CLAUDE_TRANSCRIPTS): a copy of a developer's ~/.claude, or a "
                "folder with one subfolder per person",
            )
        if source.developer:
            entries = [(source.developer, root)]
        else:
            entries = [(child.name, child) for child in sorted(root.iterdir()) if child.is_dir()
                       and not child.name.startswith(".")]
        for identity, folder in entries:
            email = resolve_identity(identity, index)
            if email is None:
                unmatched.append(identity)
            people.append(PersonFolder(identity, email, _projects_folder(folder), root))
    return people, unmatched


def session_files(person: PersonFolder) -> list[Path]:
    """`projects/**/*.jsonl`, subagent files included, in a stable order."""
    return sorted(person.projects.rglob("*.jsonl"))


# --- reading ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InvalidLine:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def dedup_key(message_id: str | None, request_id: str | None, line_uuid: str | None) -> str:
    """The identity of one API response (see the module docstring)."""
    if message_id:
        return f"{message_id}|{request_id or ''}"
    if request_id:
        return f"|{request_id}"
    return f"uuid:{line_uuid or ''}"


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def parse_line(
    data: dict[str, Any], *, person: PersonFolder, file: str, line: int, pricing: Pricing
) -> ClaudeTranscriptMessage | None:
    """A usage record from one parsed line, or None when the line carries no usage."""
    if data.get("type") != "assistant" or data.get("isApiErrorMessage"):
        return None
    message = data.get("message")
    if not isinstance(message, dict):
        return None
    usage = message.get("usage")
    model = str(message.get("model") or "")
    if not isinstance(usage, dict) or model == SYNTHETIC_MODEL or not data.get("timestamp"):
        return None
    input_tokens = _int(usage.get("input_tokens"))
    output_tokens = _int(usage.get("output_tokens"))
    creation = _int(usage.get("cache_creation_input_tokens"))
    cache_read = _int(usage.get("cache_read_input_tokens"))
    if input_tokens == output_tokens == creation == cache_read == 0:
        return None
    timestamp = dt.datetime.fromisoformat(str(data["timestamp"]).replace("Z", "+00:00"))
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.timezone.utc)
    timestamp = timestamp.astimezone(dt.timezone.utc)
    split = usage.get("cache_creation")
    split_5m = split_1h = None
    if isinstance(split, dict):
        split_5m = _int(split.get("ephemeral_5m_input_tokens"))
        split_1h = _int(split.get("ephemeral_1h_input_tokens"))
    message_id = message.get("id") or None
    request_id = data.get("requestId") or None
    cost_usd = data.get("costUSD")
    if isinstance(cost_usd, (int, float)) and not isinstance(cost_usd, bool):
        cost, cost_source = float(cost_usd), "costUSD"
    else:
        # Without a split, cache writes are priced as 5-minute ones (the default TTL).
        write_5m, write_1h = (split_5m, split_1h) if split_5m is not None else (creation, 0)
        if split_5m is not None and split_5m + (split_1h or 0) != creation:
            write_5m = creation - (split_1h or 0)
        priced = pricing.cost(model, timestamp.date(), input_tokens, output_tokens, write_5m, write_1h or 0, cache_read)
        cost, cost_source = (priced, "pricing") if priced is not None else (None, "unpriced")
    line_uuid = data.get("uuid")
    return ClaudeTranscriptMessage(
        developer=person.identity,
        developer_email=person.email,
        session_id=str(data.get("sessionId") or Path(file).stem),
        message_id=message_id,
        request_id=request_id,
        uuid=line_uuid,
        dedup_key=dedup_key(message_id, request_id, line_uuid),
        timestamp=timestamp,
        model=model,
        is_sidechain=bool(data.get("isSidechain")),
        agent_id=data.get("agentId"),
        cwd=data.get("cwd"),
        git_branch=data.get("gitBranch"),
        version=data.get("version"),
        stop_reason=message.get("stop_reason"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_creation_input_tokens=creation,
        cache_read_input_tokens=cache_read,
        cache_creation_5m_tokens=split_5m,
        cache_creation_1h_tokens=split_1h,
        cost_usd=cost,
        cost_source=cost_source,
        file=file,
        line=line,
    )


def read_file(
    path: Path, person: PersonFolder, pricing: Pricing, invalid: list[InvalidLine]
) -> Iterator[ClaudeTranscriptMessage]:
    """Usage records of one file, line by line; invalid lines go to `invalid` and are skipped."""
    relative = path.relative_to(person.base).as_posix()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text:
                continue
            # Hot path: only assistant lines carry usage, so a complete line (ended by a newline, an
            # object from brace to brace) without the string "assistant" is skipped unparsed: about half
            # of a corpus. A truncated line (a session still being written) has no newline and is parsed,
            # so it is still reported.
            if b'"assistant"' not in text and raw.endswith(b"\n") and text[:1] == b"{" and text[-1:] == b"}":
                continue
            try:
                data = _loads(text)
            except (ValueError, UnicodeDecodeError) as error:
                reason = "truncated or invalid JSON" + ("" if raw.endswith(b"\n") else " (last line, no newline)")
                invalid.append(InvalidLine(relative, number, f"{reason}: {str(error)[:80]}"))
                continue
            if not isinstance(data, dict):
                invalid.append(InvalidLine(relative, number, "not a JSON object"))
                continue
            try:
                record = parse_line(data, person=person, file=relative, line=number, pricing=pricing)
            except (ValueError, TypeError) as error:
                invalid.append(InvalidLine(relative, number, f"unreadable usage line: {str(error)[:80]}"))
                continue
            if record is not None:
                yield record


def _better(new: ClaudeTranscriptMessage, old: ClaudeTranscriptMessage) -> bool:
    if new.output_tokens != old.output_tokens:
        return new.output_tokens > old.output_tokens
    return (new.timestamp, new.file, new.line) < (old.timestamp, old.file, old.line)


class TranscriptReader:
    """Reads files and keeps one record per API response across all of them.

    `keep="final"` is our rule (largest output_tokens); `keep="first"` is first-line-wins, what
    ccusage does, kept only to measure how much it undercounts.
    """

    def __init__(self, pricing: Pricing | None = None, *, keep: str = "final") -> None:
        if keep not in ("final", "first"):
            raise ValueError("keep must be 'final' or 'first'")
        self.pricing = pricing or Pricing.load()
        self.keep = keep
        self.best: dict[str, ClaudeTranscriptMessage] = {}
        self.invalid: list[InvalidLine] = []
        self.files = 0
        self.lines = 0

    def add_file(self, path: Path, person: PersonFolder) -> None:
        self.files += 1
        for record in read_file(path, person, self.pricing, self.invalid):
            self.lines += 1
            current = self.best.get(record.dedup_key)
            if current is None or (self.keep == "final" and _better(record, current)):
                self.best[record.dedup_key] = record

    def read(self, people: Iterable[PersonFolder]) -> TranscriptReader:
        for person in people:
            for path in session_files(person):
                self.add_file(path, person)
        return self

    def records(self) -> list[ClaudeTranscriptMessage]:
        """The counted responses, in a stable order."""
        return sorted(self.best.values(), key=lambda r: (r.developer, r.file, r.line))


def read_transcripts(
    sources: Iterable[TranscriptFolder], members: Iterable[TeamMember] | None = None, *,
    pricing: Pricing | None = None, keep: str = "final",
) -> tuple[TranscriptReader, list[str]]:
    """Read every configured folder; returns the reader (records, invalid lines) and unmatched folders."""
    index = identity_index(members) if members is not None else None
    people, unmatched = person_folders(sources, index)
    reader = TranscriptReader(pricing, keep=keep).read(people)
    return reader, unmatched
