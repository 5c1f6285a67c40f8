"""report.html is self-contained: every image is an embedded, readable PNG (the same bytes as
the figure files) and nothing outside the page is referenced."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import matplotlib.image
import pandas as pd
import pytest

from stratopt.experiments import Run
from stratopt.experiments._report import Report, render

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.references: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "action", "poster") and value is not None:
                self.references.append((tag, name, value))
                if tag == "img" and name == "src":
                    self.images.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> _Collector:
    collector = _Collector()
    collector.feed(text)
    collector.close()
    return collector


@pytest.fixture(params=["wf_run", "fit_run"])
def run(request: pytest.FixtureRequest) -> Run:
    return request.getfixturevalue(request.param)


def test_every_image_is_an_embedded_png_that_matplotlib_reads(run: Run) -> None:
    page = parse((run.path / "report.html").read_text(encoding="utf-8"))
    files = sorted(p.read_bytes() for p in (run.path / "figures").glob("*.png"))
    assert len(page.images) == len(files) >= 2
    decoded = []
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(PNG_SIGNATURE)
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 400
        assert pixels[..., :3].std() > 0.01  # not a blank image
        decoded.append(png)
    assert sorted(decoded) == files


def test_nothing_outside_the_page_is_referenced(run: Run) -> None:
    text = (run.path / "report.html").read_text(encoding="utf-8")
    page = parse(text)
    external = [r for r in page.references if not r[2].startswith("data:")]
    assert external == []
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    assert not re.search(r"""(?i)url\(\s*['"]?(https?:)?//|@import""", text)
    assert not re.search(r"(?i)(src|href)\s*=\s*['\"]?\s*(https?:)?//", text)


def test_the_page_shows_the_facts_tables_and_config(run: Run) -> None:
    page = parse((run.path / "report.html").read_text(encoding="utf-8"))
    words = " ".join(page.text)
    m = run.manifest
    assert m["data"]["sha256"] in words and m["versions"]["torch"] in words
    assert run.config_text().strip() in words  # the config, unescaped back by the parser
    assert page.tags.count("table") >= 3 and "figure" in page.tags


def test_text_is_escaped() -> None:
    page = render(
        Report(
            title="<script>alert(1)</script>",
            lead='a "quoted" & <b>bold</b> lead',
            facts={"<i>key</i>": "<img src=http://example.com/x.png>"},
            tables=[("<h1>caption</h1>", pd.DataFrame({"<col>": [1.5]}, index=["<row>"]))],
            warnings=["<u>warning</u>"],
            summary="a < b",
            config='description = "<x>"',
        )
    )
    collected = parse(page)
    assert set(collected.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table",
                                   "tr", "th", "td", "thead", "tbody", "div", "ul", "li", "pre"}  # fmt: skip
    assert collected.references == [] and "<script>alert(1)</script>" in " ".join(collected.text)
