"""Sphinx configuration for the occi-twisted documentation."""

project = "occi-twisted"
author = "the occi-twisted developers"
extensions: list[str] = []
master_doc = "index"
html_theme = "alabaster"
exclude_patterns = ["_build"]
