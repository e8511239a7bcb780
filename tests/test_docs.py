"""The documentation builds, and says what the code does: Sphinx turns every warning into a
failure (a broken reference, a malformed table), every launch option twistd takes is in
the operator's table, and the reference generated from the code names every option, route,
rendering, category and event there is."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main

from occi_twisted.http.app import OCCIServer
from occi_twisted.http.methods import TABLE
from occi_twisted.http.representations import FORMATS
from occi_twisted.model.events import EventType
from occi_twisted.model.registry import Registry
from occi_twisted.model.requests import RequestState
from occi_twisted.renderings.standard import MEDIA_TYPES
from occi_twisted.tap import Options

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ("index", "tutorial", "howto/index", "howto/tls", "howto/xmpp", "howto/backups",
         "howto/monitoring", "operating", "securing", "http", "reference", "architecture",
         "benchmarks")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """The docs built once for the module: Sphinx's exit status, and the HTML's folder."""
    out = tmp_path_factory.mktemp("docs")
    status = build_main(["-q", "-W", "--keep-going", "-b", "html", "-d",
                         str(out / "doctrees"), str(DOCS), str(out / "html")])
    return status, out / "html"


def test_the_docs_build_without_a_warning(built: tuple[int, Path]) -> None:
    status, pages = built
    assert status == 0
    for page in PAGES:
        assert (pages / f"{page}.html").is_file(), page


def _textOf(page: Path) -> str:
    """A built page's words, without its markup (a literal is split into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def test_the_reference_names_everything_the_code_offers(built: tuple[int, Path]) -> None:
    pages = built[1]
    reference = _textOf(pages / "reference.html")
    registry = Registry.standard()
    expected = {f"--{name}" for name in _launchOptions()}
    expected |= {rule.rule for rule in OCCIServer.app.url_map.iter_rules()}
    expected |= {shape.name.lower().replace("_", " ") for shape in TABLE}
    expected |= {*MEDIA_TYPES.outputTypes(listing=True), *MEDIA_TYPES.inputTypes()}
    expected |= {f"?format={name}" for name in FORMATS}
    expected |= {category.identifier for category in registry}
    expected |= {attribute.name for category in registry for attribute in category.attributes}
    expected |= {event.value for event in EventType} | {state.value for state in RequestState}
    missing = sorted(name for name in expected if name not in reference)
    assert not missing, f"docs/reference.rst does not show: {missing}"


def _launchOptions() -> set[str]:
    options = Options()
    names = {str(row[0]) for row in options.optParameters + options.optFlags}
    names |= {name[len("opt_"):].replace("_", "-") for name in dir(options)
              if name.startswith("opt_") and len(name) > len("opt_x")
              and name not in ("opt_help", "opt_version")}
    return names


def _documentedOptions() -> set[str]:
    """The options in operating.rst's table, whose first column may wrap a long name."""
    lines = (DOCS / "operating.rst").read_text().splitlines()
    borders = [at for at, line in enumerate(lines) if re.match(r"=+  =+", line)]
    table = lines[borders[0]:borders[2]]  # the first table: head, rule, rows
    column = "".join(line[:26].strip() for line in table).replace("-````", "-")
    return set(re.findall(r"``--([a-z][a-z-]*)", column))


def test_every_launch_option_is_in_the_operators_table() -> None:
    missing = _launchOptions() - _documentedOptions()
    assert not missing, f"launch options missing from docs/operating.rst: {sorted(missing)}"
