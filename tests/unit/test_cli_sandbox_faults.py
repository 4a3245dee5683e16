"""`impact sandbox serve --faults SOURCE=RATE` serves faults at that rate; a malformed option is refused."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

IMPACT = Path(sys.executable).with_name("impact")


def test_every_request_faults_at_rate_one() -> None:
    process = subprocess.Popen(
        [str(IMPACT), "sandbox", "serve", "--port", "0", "--faults", "github=1.0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"serving at (http://\S+)", line)
        assert match, line + process.stderr.read()
        assert "with faults github=1.0" in line
        url = match.group(1)
        statuses = [
            requests.get(f"{url}/orgs/hoco/repos?page={page}", headers={"Authorization": "token t"}, timeout=30).status_code
            for page in range(1, 7)
        ]
        assert all(status in (403, 429, 500, 502, 503) for status in statuses), statuses
        healthy = requests.get(f"{url}/v1/organizations/usage_report/claude_code?starting_at=2026-03-04",
                               headers={"x-api-key": "k", "anthropic-version": "2023-06-01"}, timeout=30)
        assert healthy.status_code == 200  # no rate was given for anthropic
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_a_malformed_rate_is_a_usage_error() -> None:
    result = subprocess.run([str(IMPACT), "sandbox", "serve", "--port", "0", "--faults", "github"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "write SOURCE=RATE, e.g. github=0.05" in result.stderr
