"""HTTP plumbing shared by the fake APIs: JSON responses, timestamps, page-number pagination."""

from __future__ import annotations

import datetime as dt
import json
from typing import Sequence, TypeVar
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

T = TypeVar("T")


def iso(value: dt.datetime | None) -> str | None:
    """GitHub's and Anthropic's timestamp form: "2026-01-05T10:00:00Z"."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_body(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_body(payload), status=status, headers=headers, content_type="application/json; charset=utf-8")


def int_arg(request: Request, name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default


def page_url(request: Request, page: int) -> str:
    """The request's own absolute URL with `page` replaced: how GitHub builds its Link header."""
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "page"] + [("page", str(page))]
    return f"{request.base_url}?{urlencode(query)}"


def paginate(
    request: Request, items: Sequence[T], default_per_page: int = 30, max_per_page: int = 100
) -> tuple[Sequence[T], str | None]:
    """One page of `items` and the GitHub-style Link header (None when everything fits one page)."""
    per_page = min(max(int_arg(request, "per_page", default_per_page), 1), max_per_page)
    page = max(int_arg(request, "page", 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []
    if page < last:
        links += [f'<{page_url(request, page + 1)}>; rel="next"', f'<{page_url(request, last)}>; rel="last"']
    if page > 1:
        links = [f'<{page_url(request, min(page - 1, last))}>; rel="prev"'] + links + [f'<{page_url(request, 1)}>; rel="first"']
    return chunk, (", ".join(links) if links else None)
