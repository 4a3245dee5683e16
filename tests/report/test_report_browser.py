"""The report as a browser lays it out: headless Chromium at desktop and phone widths, and as a PDF.

The HTML tests check the markup; these check what a reader sees. A copy of the report gets a small
script (test-only: the report itself has none) that measures the page after layout and writes the
numbers into the DOM, which ``--dump-dom`` prints: the viewport and document widths, every section
with its heading, every chart's box, every table's scroll box, any element sticking out of the
viewport. Without Chromium these tests skip on a laptop and fail under CI=true (see conftest).

Headless Chromium will not make a window narrower than 500 px: ``--window-size=390,...`` lays the
page out at 500 px and crops the screenshot, which hides exactly the phone-width overflow under test.
So the report is loaded in an iframe of the width under test (its own viewport: media queries and
``innerWidth`` follow the iframe), and the probe posts its numbers to the harness page around it.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from analysis.report import build_report_context, chromium_command, export_pdf, render_report

from synthetic_warehouse import HOSTILE, HOSTILE_ATTR, QUARTET

WIDTHS = {"desktop": (1280, 900), "narrow": (390, 844)}

MEASURE = r"""
<script>
(function () {
  var vw = window.innerWidth;
  function box(e) {
    var r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top + window.scrollY, width: r.width, height: r.height};
  }
  function text(e) { return e ? e.textContent.replace(/\s+/g, ' ').trim() : null; }
  var all = Array.prototype.slice.call(document.querySelectorAll('body *'));
  var out = {
    innerWidth: vw,
    scrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    scrollHeight: document.documentElement.scrollHeight,
    headline: text(document.querySelector('.summary .headline')),
    sections: Array.prototype.map.call(document.querySelectorAll('main > section'), function (s) {
      return {id: s.id, heading: text(s.querySelector('h2')) || s.getAttribute('aria-label'), box: box(s)};
    }),
    charts: Array.prototype.map.call(document.querySelectorAll('svg'), function (s) {
      var sec = s.closest('section');
      return {id: s.id, section: sec ? sec.id : null, box: box(s), sectionBox: sec ? box(sec) : null};
    }),
    scrollers: Array.prototype.map.call(document.querySelectorAll('.table-scroll'), function (d) {
      return {box: box(d), scrollWidth: d.scrollWidth, clientWidth: d.clientWidth,
              overflowX: getComputedStyle(d).overflowX};
    }),
    tablesOutsideScroller: Array.prototype.filter.call(document.querySelectorAll('table'), function (t) {
      return !t.closest('.table-scroll');
    }).length,
    sticking_out: all.filter(function (e) {
      if (e.closest('.table-scroll') && !e.classList.contains('table-scroll')) return false;
      if (e.closest('svg') && e.tagName.toLowerCase() !== 'svg') return false;
      var r = e.getBoundingClientRect();
      return r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5);
    }).map(function (e) { return e.tagName + '.' + e.className + ': ' + text(e).slice(0, 60); }),
    teams: Array.prototype.map.call(document.querySelectorAll('#section-adoption tbody tr td:first-child'), text),
    images: document.querySelectorAll('img').length,
    scripts: document.querySelectorAll('script').length,
    bodyText: document.body.innerText
  };
  parent.postMessage(JSON.stringify(out), '*');
})();
</script>
"""


def run_chromium(chromium: str, *args: str, timeout: float = 120, attempts: int = 2) -> subprocess.CompletedProcess:
    """Headless Chromium, once more with a fresh profile if it hangs: a screenshot that takes 8 s on a quiet
    machine once hung past 120 s on a loaded one (CI), which says nothing about the report."""
    for attempt in range(1, attempts + 1):
        with tempfile.TemporaryDirectory(prefix="report-test-chromium-") as profile:
            try:
                proc = subprocess.run(
                    chromium_command(chromium, profile, *args), capture_output=True, text=True, timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                if attempt == attempts:
                    raise
                continue
        assert proc.returncode == 0, f"chromium exit {proc.returncode}: {proc.stderr[-2000:]}"
        return proc
    raise AssertionError("unreachable")


MIN_WINDOW = 500  # headless Chromium's narrowest window
HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0;background:#fff">
<iframe src="{src}" width="{width}" height="{height}" style="border:0;display:block"></iframe>
<pre id="__measurements" hidden></pre>
<script>window.addEventListener('message', function (e) {{
  document.getElementById('__measurements').textContent = e.data; }});</script>
</body></html>"""


def harness(page: Path, width: int, height: int, name: str) -> Path:
    """A page beside ``page`` that shows it in an iframe of ``width`` x ``height`` CSS px."""
    out = page.with_name(name)
    out.write_text(HARNESS.format(src=page.name, width=width, height=height), encoding="utf-8")
    return out


def measure(chromium: str, report: Path, width: int, height: int, tmp: Path) -> dict:
    """Layout numbers of ``report`` at ``width`` x ``height`` CSS px, from a copy with MEASURE injected."""
    source = report.read_text(encoding="utf-8")
    assert source.count("</body>") == 1
    probe = tmp / f"probe-{width}.html"
    probe.write_text(source.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    page = harness(probe, width, height, f"harness-{width}.html")
    proc = run_chromium(
        chromium,
        f"--window-size={max(width, MIN_WINDOW)},{height}",
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=3000",
        "--dump-dom",
        page.as_uri(),
    )
    found = re.search(r'<pre id="__measurements" hidden="">(.*?)</pre>', proc.stdout, flags=re.S)
    assert found and found.group(1), f"no measurements in the DOM dump: {proc.stdout[-500:]!r} {proc.stderr[-1000:]}"
    return json.loads(htmllib.unescape(found.group(1)))


def screenshot(chromium: str, report: Path, width: int, height: int, out: Path) -> Image.Image:
    """A ``width`` x ``height`` screenshot of ``report`` laid out at ``width`` CSS px (see the module doc)."""
    page = harness(report, width, height, f".shot-{width}-{report.name}")
    try:
        run_chromium(
            chromium,
            f"--window-size={max(width, MIN_WINDOW)},{height}",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=3000",
            f"--screenshot={out}",
            page.as_uri(),
        )
    finally:
        page.unlink(missing_ok=True)
    with Image.open(out) as full:
        image = full.crop((0, 0, width, height))
    image.save(out)
    return image


@pytest.fixture(scope="module")
def report(warehouse, tmp_path_factory) -> tuple[Path, dict]:
    out = render_report(warehouse, tmp_path_factory.mktemp("browser") / "report.html", title="Q3 AI impact")
    return out, build_report_context(warehouse, title="Q3 AI impact")


@pytest.mark.parametrize("name", list(WIDTHS))
def test_layout_at_width(chromium, report, tmp_path, name):
    """Findings, every section and every chart are there and nothing makes the page scroll sideways."""
    path, context = report
    width, height = WIDTHS[name]
    m = measure(chromium, path, width, height, tmp_path)
    assert m["innerWidth"] == width  # the page was laid out at the width under test

    # the findings: the headline the data says, every outcome's sentence
    assert m["headline"] == context["findings"][0]["headline"]
    assert "PR review time (geometric mean)" in m["headline"]  # the first outcome, as the registry orders them
    for finding in context["findings"]:
        assert finding["headline"] in m["bodyText"]

    # every section, in order, with its heading and some height
    expected = (
        ["Summary", "Adoption over time", "Cost and efficiency", "AI spend in detail", "DORA four keys by team",
         "Delivery snapshot", "Where pull request time goes"]
        + [f"{f['title']}: week by week around adoption" for f in context["findings"]]
        + ["What to keep in mind", "Methods", "Data freshness"]
    )
    assert [s["heading"] for s in m["sections"]] == expected
    assert all(s["box"]["height"] > 40 for s in m["sections"])
    assert context["spend_sentence"] in m["bodyText"]

    # every chart, drawn at the width of its column (capped at 680 px), inside the viewport; the four
    # DORA charts are small multiples: two per row on a wide screen, full width on a phone
    charts = {c["id"]: c for c in m["charts"]}
    dora = [f"dora-{k}" for k in ("deploys", "lead", "cfr", "mttr")]
    assert sorted(charts) == sorted(
        [f"event-study-{i}" for i in range(len(context["findings"]))]
        + ["adoption", "spend-by-team", "spend-by-model", "pr-cost", "pr-stages"] + dora
    )
    for chart in charts.values():
        b, sec = chart["box"], chart["sectionBox"]
        assert b["left"] >= -0.5 and b["right"] <= width + 0.5, chart
        share = 0.45 if chart["id"] in dora and name == "desktop" else 0.95
        assert b["width"] >= min(share * sec["width"], 670) and b["height"] > 0.25 * b["width"], chart

    # nothing sticks out: tables scroll inside their own box, the page itself never scrolls sideways
    assert m["tablesOutsideScroller"] == 0
    for scroller in m["scrollers"]:
        assert scroller["box"]["right"] <= width + 0.5 and scroller["overflowX"] == "auto"
    assert m["sticking_out"] == []
    assert m["scrollWidth"] <= width and m["bodyScrollWidth"] <= width
    if name == "narrow":
        # the methods table is wider than a phone: it is the table that scrolls, not the page
        assert max(s["scrollWidth"] - s["clientWidth"] for s in m["scrollers"]) > 0

    # a full-page screenshot that shows something (a blank page would be white)
    keep = os.environ.get("IMPACT_REPORT_SCREENSHOTS")  # a folder to keep the screenshots in, to look at them
    out = Path(keep) / f"report_{name}.png" if keep else tmp_path / f"report-{name}.png"
    shot = screenshot(chromium, path, width, m["scrollHeight"], out)
    assert shot.size == (width, m["scrollHeight"])
    grey = shot.convert("L")
    dark = sum(grey.histogram()[:200])
    assert dark > 0.01 * width * m["scrollHeight"]


def test_hostile_strings_stay_text_in_the_browser(chromium, report, tmp_path):
    """A browser parsing the report builds no element from warehouse strings; the names read as typed."""
    path, _ = report
    m = measure(chromium, path, 1280, 900, tmp_path)
    assert m["images"] == 0
    assert m["scripts"] == 1  # the test's own probe
    assert HOSTILE in m["teams"] and HOSTILE_ATTR in m["teams"]
    assert QUARTET not in m["bodyText"]


def test_pdf_export(chromium, report, tmp_path):
    """The report prints to a PDF of a few pages (charts whole: the print CSS keeps them on one page)."""
    path, _ = report
    pdf = export_pdf(path, tmp_path / "out" / "report.pdf", chromium=chromium)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert 4 <= pages <= 16, pages  # summary, adoption, cost, spend, DORA, stages, one event study per outcome, methods
    assert len(data) > 30_000
    assert not list(pdf.parent.glob(".*tmp*"))  # no temporary file left beside it


def test_render_report_with_pdf(chromium, warehouse, tmp_path):
    out = render_report(warehouse, tmp_path / "r.html", pdf=True)
    assert out == tmp_path / "r.html" and out.exists()
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
