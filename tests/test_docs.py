"""The documentation builds, and says what the code does: Sphinx turns every warning into a
failure (a broken reference, a malformed table), and every launch option twistd takes is in
the operator's table."""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.cmd.build import build_main

from occi_twisted.tap import Options

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_docs_build_without_a_warning(tmp_path: Path) -> None:
    status = build_main(["-q", "-W", "--keep-going", "-b", "html", "-d",
                         str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")])
    assert status == 0
    for page in ("index", "operating", "securing", "http", "architecture", "benchmarks"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page


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
