"""Render a :class:`ReportView` to one self-contained offline HTML file (jinja2 + plotly).

plotly.js is embedded once, inline (``plotly.offline.get_plotlyjs()``); each chart's
figure is embedded as JSON in a ``<script type="application/json">`` block and drawn with
``Plotly.newPlot``, so the page makes no request to any network address (no CDN, no web
fonts, no MathJax). Autoescaping is switched on explicitly for the ``.html.j2`` templates
(jinja2's ``select_autoescape()`` default list does not include ``.j2``), so a service or
endpoint named ``<script>…`` is shown as text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from capplan.errors import ConfigError, ReportError
from capplan.report.facts import ReportFacts
from capplan.report.view import ReportView, build_view
from capplan.store import atomic

TEMPLATE_DIR = Path(__file__).with_name("templates")
FORMATS = ("html", "md", "json")


@lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The jinja2 environment for report templates, autoescaping ``.j2``, ``.html`` and strings."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "j2"), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def embeddable_json(figure_json: str) -> Markup:
    """Figure JSON made safe inside a ``<script>`` block: ``<``, ``>`` and ``&`` as \\u escapes.

    JSON stays valid (``\\u003c`` decodes to ``<``) and no string can close the script tag.
    """
    safe = (figure_json.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return Markup(safe)


def render_html(view: ReportView, template: str = "report.html.j2") -> str:
    """The report as one HTML document (about 4.9 MB, nearly all of it plotly.js)."""
    env = template_environment()
    try:
        page = env.get_template(template)
        return page.render(view=view, plotlyjs=Markup(_plotlyjs()), embed=embeddable_json)
    except jinja2.TemplateError as exc:
        raise ReportError(f"report template {template} failed to render, {exc}, "
                          "reinstall capplan (the templates ship with the package)") from exc


def check_format(fmt: str) -> None:
    """Raise :class:`ConfigError` unless ``fmt`` is one of :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format, {fmt!r}, use --format html, md or json")


def render_report(facts: ReportFacts, fmt: str = "html") -> str:
    """The report in ``fmt``: ``html`` (offline page), ``md`` (ticket summary) or ``json``."""
    from capplan.report.markdown import render_json, render_markdown

    check_format(fmt)
    view = build_view(facts)
    if fmt == "md":
        return render_markdown(view)
    if fmt == "json":
        return render_json(facts, view)
    return render_html(view)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write a report to ``path`` atomically (creating its directory); :class:`ReportError` on failure."""
    return atomic.write_output(path, text, "report")


@lru_cache(maxsize=1)
def _plotlyjs() -> str:
    # get_plotlyjs() reads a 4.8 MB file; cache it for repeated renders in one process.
    return get_plotlyjs()
