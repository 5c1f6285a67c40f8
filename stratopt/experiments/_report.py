"""``report.html``: one self-contained page per run.

Tables are HTML tables, figures are PNG images embedded as base64 ``data:`` URIs, the style
sheet is inline: the page references nothing outside itself, so it opens offline, by e-mail
or from an archive. Text is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Report", "render"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1d2733; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d5dbe3; padding-bottom: 0.2rem; }
p.lead { color: #4a5866; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.88rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e4e8ee; text-align: right; white-space: nowrap; }
th { background: #f3f5f8; font-weight: 600; }
table.facts th, table.facts td { text-align: left; white-space: normal; }
table.facts th { width: 11rem; }
.scroll { overflow-x: auto; }
pre { background: #f6f8fa; border: 1px solid #e4e8ee; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e8ee; }
figcaption { color: #4a5866; font-size: 0.85rem; }
ul.warnings li { color: #8a4b00; }
"""


@dataclass
class Report:
    """What the page shows, in order: facts, tables, figures, warnings, summary, config."""

    title: str
    lead: str = ""
    facts: Mapping[str, str] = field(default_factory=dict)
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    figures: Sequence[tuple[str, bytes]] = ()
    warnings: Sequence[str] = ()
    summary: str = ""
    config: str = ""


def render(report: Report) -> str:
    """The report as one HTML document."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(report.title)}</h1>",
    ]
    if report.lead:
        parts.append(f'<p class="lead">{e(report.lead)}</p>')
    if report.facts:
        rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in report.facts.items())
        parts.append(f'<table class="facts">{rows}</table>')
    for caption, frame in report.tables:
        table = frame.to_html(border=0, na_rep="", float_format=_number, escape=True)
        parts += [f"<h2>{e(caption)}</h2>", f'<div class="scroll">{table}</div>']
    if report.figures:
        parts.append("<h2>Figures</h2>")
        for caption, png in report.figures:
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
    if report.warnings:
        items = "".join(f"<li>{e(w)}</li>" for w in report.warnings)
        parts += ["<h2>Warnings</h2>", f'<ul class="warnings">{items}</ul>']
    if report.summary:
        parts += ["<h2>Summary</h2>", f"<pre>{e(report.summary)}</pre>"]
    if report.config:
        parts += ["<h2>Config</h2>", f"<pre>{e(report.config)}</pre>"]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _number(value: float) -> str:
    """Counts and whole days as integers, other numbers to 3 decimals (4 significant digits
    when very large or small)."""
    if value.is_integer() and 0 < abs(value) < 1e9:
        return f"{value:.0f}"
    return f"{value:.4g}" if abs(value) >= 1e4 or (value and abs(value) < 1e-3) else f"{value:.3f}"
