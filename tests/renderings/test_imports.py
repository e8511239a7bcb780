"""How the renderings import each other: no cycle, no other rendering's private names, and
nothing beyond the model -- so that each one can be imported, and tested, on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import occi_twisted.renderings

PACKAGE = "occi_twisted.renderings"
FOLDER = Path(occi_twisted.renderings.__file__).parent
#: The renderings: modules, and packages (``html``) taken as one rendering.
MODULES = sorted([path.stem for path in FOLDER.glob("*.py") if path.stem != "__init__"]
                 + [path.parent.name for path in FOLDER.glob("*/__init__.py")])
#: The HTML rendering builds its pages with ``twisted.web.template`` (escaping by
#: construction); only it, and what renders pages through it, may bring Twisted along.
HTML = "html"


def sourcesOf(module: str) -> list[tuple[Path, str]]:
    """The files of a rendering, each with the package its relative imports start from."""
    package = FOLDER / module
    if package.is_dir():
        return [(path, f"{PACKAGE}.{module}") for path in sorted(package.glob("*.py"))]
    return [(FOLDER / f"{module}.py", PACKAGE)]


def importsOf(module: str) -> list[tuple[str, list[str]]]:
    """Each module ``module`` imports from within occi_twisted, anywhere in it (at the top,
    in functions, under ``TYPE_CHECKING``), with the names it takes from it; a package's
    imports of its own modules are left out."""
    found: list[tuple[str, list[str]]] = []
    for path, package in sourcesOf(module):
        found += _importsIn(path, package)
    own = f"{PACKAGE}.{module}"
    return [(name, names) for name, names in found
            if name != own and not name.startswith(own + ".")]


def _importsIn(source: Path, package: str) -> list[tuple[str, list[str]]]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names
                      if alias.name.startswith("occi_twisted")]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
                if not base.startswith("occi_twisted"):
                    continue
            else:
                parts = package.split(".")
                base = ".".join([*parts[:len(parts) - node.level + 1], node.module or ""])
                base = base.rstrip(".")
            names = [alias.name for alias in node.names]
            if base in (PACKAGE, package):  # ``from . import text``: the modules themselves
                found += [(f"{base}.{name}", []) for name in names]
            else:
                found.append((base, names))
    return found


def renderingImports(module: str) -> set[str]:
    """The renderings ``module`` imports (short names; a package's module is the package)."""
    prefix = PACKAGE + "."
    return {name.removeprefix(prefix).partition(".")[0] for name, _ in importsOf(module)
            if name.startswith(prefix)}


def test_the_renderings_are_found() -> None:
    assert {"text", "json", "xml", "descriptor", "negotiation", "standard"} <= set(MODULES)


def test_the_renderings_import_each_other_without_a_cycle() -> None:
    graph = {module: renderingImports(module) for module in MODULES}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            cycle = " -> ".join((*path[path.index(module):], module))
            pytest.fail(f"The renderings import each other in a cycle: {cycle}")
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, (*path, module))
        done.add(module)

    for module in MODULES:
        visit(module, ())


def test_only_the_standard_table_imports_every_rendering() -> None:
    for module in MODULES:
        if module != "standard":
            assert "standard" not in renderingImports(module), module
    assert {"text", "json", "xml", "descriptor", "form", "html", "atomentities",
            "urilist"} <= renderingImports("standard")


@pytest.mark.parametrize("module", MODULES)
def test_a_rendering_takes_no_private_name_of_another(module: str) -> None:
    for imported, names in importsOf(module):
        private = [name for name in names if name.startswith("_")]
        assert not private, f"{module} imports {', '.join(private)} from {imported}"


@pytest.mark.parametrize("module", MODULES)
def test_a_rendering_imports_only_the_model_and_renderings(module: str) -> None:
    for imported, _ in importsOf(module):
        assert imported.startswith(("occi_twisted.model", PACKAGE)), \
            f"{module} imports {imported}"


#: What a rendering must not bring with it: Twisted, and the rooms that use the renderings.
ELSEWHERE = ("twisted.", "occi_twisted.store", "occi_twisted.http", "occi_twisted.operations",
             "occi_twisted.xmpp")


@pytest.mark.parametrize("module", MODULES)
def test_a_rendering_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    """Imported first and alone, a rendering meets no half-made module of a cycle, and loads
    neither Twisted (but for the HTML rendering's templates) nor the rooms that use the
    renderings."""
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {PACKAGE}.{module}; print(*sorted(sys.modules))"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()
    assert f"{PACKAGE}.{module}" in loaded
    onTwisted = module == HTML or HTML in renderingImports(module)
    forbidden = ELSEWHERE[1:] if onTwisted else ELSEWHERE
    assert [name for name in loaded if f"{name}.".startswith(forbidden)] == []
