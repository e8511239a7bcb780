"""Sphinx configuration for the occi-twisted documentation.

``_ext/occireference.py`` makes the reference's tables from the code at build time, so the
package must be importable (installed, or its checkout on ``sys.path``, which this adds)."""

import sys
from pathlib import Path

_DOCS = Path(__file__).resolve().parent
for _path in (str(_DOCS.parent), str(_DOCS / "_ext")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

project = "occi-twisted"
author = "the occi-twisted developers"
extensions: list[str] = ["occireference"]
master_doc = "index"
html_theme = "alabaster"
exclude_patterns = ["_build"]
