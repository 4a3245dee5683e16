"""The PagerDuty incident an incident issue names: the link a responder pastes into a GitHub issue body or
a Jira description, e.g. `https://acme.pagerduty.com/incidents/Q2K8F3LMN0PQRS`.

Why only the id is landed, not the text: deduplicating one outage reported in two tools
(int_incident_duplicates) needs nothing else, and bodies and descriptions can hold what a warehouse has
no business keeping (customer names, stack traces). The first link wins; none gives null.

Jira Cloud's description is a document tree (Atlassian Document Format): the link may sit in a text
node, in a `link` mark's `href`, or in an `inlineCard` / `blockCard`'s `url` (a "smart link"); every one
of those is read. Data Center's description is wiki markup text (`[label|url]` or a bare url).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PAGERDUTY_INCIDENT_URL = re.compile(r"https?://[A-Za-z0-9.-]+\.pagerduty\.com/(?:#/)?incidents/([A-Z0-9]{4,})\b")


def pagerduty_incident_reference(text: str | None) -> str | None:
    """The PagerDuty incident id of the first PagerDuty incident link in `text`, else None."""
    if not text:
        return None
    match = PAGERDUTY_INCIDENT_URL.search(text)
    return match.group(1) if match else None


def _adf_strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            yield node["text"]
        attrs = node.get("attrs")
        if isinstance(attrs, dict):
            for key in ("url", "href"):
                if isinstance(attrs.get(key), str):
                    yield attrs[key]
        for mark in node.get("marks") or []:
            yield from _adf_strings(mark)
        for child in node.get("content") or []:
            yield from _adf_strings(child)
    elif isinstance(node, list):
        for child in node:
            yield from _adf_strings(child)


def description_text(description: Any) -> str:
    """A Jira description as searchable text: Data Center's string as is, Cloud's document tree flattened
    (text, link targets and smart-link urls, separated by spaces)."""
    if description is None:
        return ""
    if isinstance(description, str):
        return description
    return " ".join(_adf_strings(description))
