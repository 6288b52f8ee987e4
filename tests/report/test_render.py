"""HTML rendering: self-contained, plotly.js once, autoescaped, charts embedded safely."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from capplan.errors import ReportError
from capplan.report.render import embeddable_json, render_html, template_environment, write_text_atomic
from capplan.report.view import build_view
from synthetic_facts import XSS, synthetic_facts


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(build_view(synthetic_facts(service=XSS, endpoint=XSS)))


def test_autoescape_is_on_for_j2_templates():
    env = template_environment()
    assert env.autoescape("report.html.j2") is True and env.autoescape("anything.j2") is True
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_a_service_named_script_is_escaped_text(html):
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_plotlyjs_is_embedded_exactly_once_and_nothing_is_fetched(html):
    plotlyjs = get_plotlyjs()
    assert html.count(plotlyjs) == 1
    ours = html.replace(plotlyjs, "")  # plotly.js's own code mentions URLs it never fetches here
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", ours)
    assert "<link" not in ours and "@import" not in ours and "url(" not in ours


def test_every_chart_is_embedded_as_valid_json(html):
    blocks = re.findall(r'<script type="application/json" class="chart-data" data-target="([^"]+)">(.*?)</script>',
                        html, re.S)
    assert len(blocks) == 6
    for target, body in blocks:
        assert f'id="{target}"' in html
        assert "data" in json.loads(body)


def test_embedded_json_cannot_close_its_script_tag():
    raw = json.dumps({"name": "</script><script>alert(1)</script>&"})
    safe = str(embeddable_json(raw))
    assert "<" not in safe and ">" not in safe and json.loads(safe) == json.loads(raw)


def test_report_prints_cleanly_with_print_css(html):
    assert "@media print" in html and "break-inside: avoid" in html


def test_report_stays_under_6_mb(html):
    assert len(html.encode()) <= 6 * 1024 * 1024


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path):
    out = write_text_atomic(tmp_path / "sub" / "r.html", "hello")
    assert out.read_text() == "hello"
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]


def test_unwritable_path_is_a_report_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="choose a writable --out path"):
        write_text_atomic(blocker / "r.html", "hello")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_missing_template_is_a_report_error():
    with pytest.raises(ReportError, match="missing.html.j2"):
        render_html(build_view(synthetic_facts()), template="missing.html.j2")


def test_templates_ship_inside_the_package():
    names = {p.name for p in Path(template_environment().loader.searchpath[0]).iterdir()}
    assert {"base.html.j2", "report.html.j2", "section.html.j2"} <= names
