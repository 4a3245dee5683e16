"""One werkzeug app serving both fake APIs on one port, run in a background thread.

The same base URL works as GitHub's REST root and as Anthropic's API base, so a test or the demo
only has to point both settings at `server.url`. `request_counts` lets tests and benchmarks assert
how many calls a connector made per endpoint (for example that incremental syncs stop paging): each
request counts once under its endpoint name ("github.pulls.list"), except a 304 Not Modified, which
counts under "<endpoint>#304" instead, because it is free of GitHub's rate limit and a benchmark wants
the two apart. `faults` (a `sandbox.faults.FaultPlan`, replaceable at runtime) injects errors and
rewrites healthy answers' records (schema drift, bad records).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from sandbox import anthropic_api, github_api, github_graphql, jira_api, pagerduty_api
from sandbox.faults import FaultPlan
from sandbox.organisation import Organisation
from sandbox.web import json_response


class _QuietHandler(WSGIRequestHandler):
    """Keep-alive (PyGithub and requests reuse connections) and no access log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs) -> None:
        pass


class SandboxApp:
    def __init__(
        self, org: Organisation, rate_limit: int = github_api.DEFAULT_RATE_LIMIT, faults: FaultPlan | None = None
    ):
        self.github = github_api.GithubApi(org, rate_limit=rate_limit)
        self.anthropic = anthropic_api.AnthropicApi(org)
        self.github_graphql = github_graphql.GithubGraphqlApi(org, self.github)
        self.jira = jira_api.JiraApi(org)
        self.pagerduty = pagerduty_api.PagerdutyApi(org)  # under /pagerduty: api_url = <sandbox>/pagerduty
        #: endpoint prefix (the part of the endpoint name before the first ".") -> the API that answers it.
        #: Every API has `handle(request, endpoint, args, fault) -> Response`; its module has `rules()`.
        self.apis = {
            "github": self.github,
            "anthropic": self.anthropic,
            "jira": self.jira,
            "pagerduty": self.pagerduty,
            # A full endpoint name wins over its prefix: GraphQL shares GitHub's faults, not its handler.
            github_graphql.ENDPOINT: self.github_graphql,
        }
        #: endpoints that answer POST as well (the sandbox is otherwise read-only: 405)
        self.post_endpoints = {github_graphql.ENDPOINT, *jira_api.POST_ENDPOINTS}
        rules = [
            *github_api.rules(),
            *anthropic_api.rules(),
            *github_graphql.rules(),
            *jira_api.rules(),
            *pagerduty_api.rules(),
        ]
        self.url_map = Map(rules, strict_slashes=False)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._faults: FaultPlan | None = None
        self.faults = faults

    @property
    def faults(self) -> FaultPlan | None:
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        """Install a plan (its counting starts now) or None for a healthy server."""
        if plan is not None:
            plan.reset()
        self._faults = plan

    @property
    def request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def _count(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException:
            self._count("unknown")
            if request.path.startswith("/v1/"):
                return anthropic_api.error(404, "not_found_error", "Not found")
            if request.path.startswith(pagerduty_api.PREFIX + "/"):
                return pagerduty_api.not_found()
            return json_response({"message": "Not Found", "documentation_url": github_api.DOCS, "status": "404"}, 404)
        if request.method != "GET" and not (request.method == "POST" and endpoint in self.post_endpoints):
            self._count(endpoint)
            return json_response({"message": "Method Not Allowed (the sandbox is read-only)"}, 405)
        source = endpoint.split(".", 1)[0]
        plan = self._faults
        fault = plan.decide(source, endpoint, request) if plan is not None else None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        api = self.apis.get(endpoint) or self.apis[source]
        response = api.handle(request, endpoint, args, fault)
        if plan is not None and plan.patches and response.status_code == 200 and response.is_json:
            patched = plan.patch(endpoint, response.get_data())
            if patched is not None:
                response.set_data(patched)
        if fault is not None and fault.kind == "malformed_json" and response.status_code == 200:
            body = response.get_data()
            response.set_data(body[: len(body) // 2])  # a truncated page: never valid JSON
        self._count(endpoint + "#304" if response.status_code == 304 else endpoint)
        return response

    def __call__(self, environ, start_response):
        return self.dispatch(Request(environ))(environ, start_response)


class SandboxServer:
    def __init__(
        self,
        org: Organisation,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int = github_api.DEFAULT_RATE_LIMIT,
        faults: FaultPlan | None = None,
    ):
        self.org = org
        self.host = host
        self.port = port
        self.app = SandboxApp(org, rate_limit=rate_limit, faults=faults)
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self._server.server_port}"

    @property
    def request_counts(self) -> dict[str, int]:
        return self.app.request_counts

    def reset_counts(self) -> None:
        """Zero `request_counts` (the fault plan keeps counting; reinstall it to restart it)."""
        self.app.reset_counts()

    @property
    def faults(self) -> FaultPlan | None:
        return self.app.faults

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self.app.faults = plan

    def start(self) -> "SandboxServer":
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
