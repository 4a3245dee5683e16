"""HTTP behaviour every connector shares: retries, backoff, rate-limit waits, readable errors.

urllib3's `Retry` does the retrying (capped exponential backoff with jitter, `Retry-After` honoured on
429/503); this module only chooses its settings and turns what is left into `SourceError`s that name
the source, the URL without its query secrets, and what to do.
"""

from __future__ import annotations

import urllib.parse

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRYABLE_STATUSES = (429, 500, 502, 503, 504, 529)  # 529: Anthropic overloaded_error


class SourceError(RuntimeError):
    """A failure reading a source, worded for the person who has to fix it."""

    def __init__(self, source: str, problem: str, action: str, *, url: str | None = None) -> None:
        self.source = source
        self.problem = problem
        self.action = action
        self.url = redact_url(url) if url else None
        where = f" ({self.url})" if self.url else ""
        super().__init__(f"{source}: {problem}{where}. {action}")


def redact_url(url: str) -> str:
    """The URL without credentials in user-info or query, for logs and errors."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    safe_query = [
        (k, "***" if any(s in k.lower() for s in ("key", "token", "secret", "password")) else v)
        for k, v in query
    ]
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, urllib.parse.urlencode(safe_query), "")
    )


def retry_policy(total: int = 6, backoff_factor: float = 0.5, backoff_max: float = 60.0) -> Retry:
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=0.25,
        status_forcelist=RETRYABLE_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def session(user_agent: str = "impact-warehouse") -> requests.Session:
    """A requests session that retries transient failures with backoff."""
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_policy())
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    http.headers["User-Agent"] = user_agent
    return http
