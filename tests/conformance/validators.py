"""The validators nobody here wrote, loaded from ``data/`` (its README says where each file
comes from and what had to be adapted):

- the GFD.225 JSON Schema (Appendix B of the JSON rendering), run by ``jsonschema``;
- rOCCI-core's JSON schemas, for the rules a Ruby client applies on top (``minItems``);
- GFD.229's ABNF, run by the ``abnf`` package over RFC 7230's and RFC 3986's rules;
- RFC 4287's RELAX NG schema for Atom, run by ``jing``, plus the two Schematron assertions
  the schema carries as annotations, which jing does not run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree

import pytest
from abnf.grammars import rfc3986, rfc7230
from abnf.grammars.misc import load_grammar_rulelist
from abnf.parser import ParseError, Rule
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

DATA = Path(__file__).parent / "data"
#: The ``id`` GFD.225's schema gives itself.
GFD225 = "http://schemas.ogf.org/occi/OCCI-schema.json"
#: rOCCI-core's schema calls itself ``occi-schema.json``, a relative id; it is registered here.
ROCCI = "urn:rocci-core:occi-schema.json"


@cache
def _registry() -> Registry[Any]:
    # The schema as GFD.225 prints it refers to "#definitions/link"; JSON Pointer fragments
    # start with "/" (RFC 6901), so such a ref resolves to nothing.
    gfd = json.loads((DATA / "gfd225-schema.json").read_text()
                     .replace('"#definitions/', '"#/definitions/'))
    rocci = json.loads((DATA / "rocci-occi-schema.json").read_text())
    return Registry().with_resources([(GFD225, DRAFT4.create_resource(gfd)),
                                      (ROCCI, DRAFT4.create_resource(rocci))])


def schemaErrors(document: object, definitions: Iterable[str], schema: str = GFD225
                 ) -> list[str]:
    """Why ``document`` is none of the schema's ``definitions`` (empty when it is one)."""
    refs = [{"$ref": f"{schema}#/definitions/{name}"} for name in definitions]
    validator = Draft4Validator(refs[0] if len(refs) == 1 else {"anyOf": refs},
                                registry=_registry())
    return [_described(error) for error in validator.iter_errors(document)]


def _described(error: Any) -> str:
    where = "/".join(map(str, error.absolute_path)) or "(document)"
    causes = "; ".join(sorted({_described(cause) for cause in error.context or ()}))
    return f"{where}: {error.message}" + (f" [{causes}]" if causes else "")


def _imported(*names: tuple[str, Any]) -> list[tuple[str, Rule]]:
    return [(name, module.Rule(name)) for name, module in names]


@load_grammar_rulelist(_imported(("quoted-string", rfc7230), ("token", rfc7230),
                                 ("OWS", rfc7230), ("URI", rfc3986),
                                 ("URI-reference", rfc3986)))
class GFD229(Rule):
    """GFD.229's rules (``data/gfd229.abnf``) over RFC 7230's and RFC 3986's."""

    grammar: ClassVar[str] = (DATA / "gfd229.abnf").read_text()


def abnfError(rule: str, text: bytes) -> str | None:
    """None when ``text`` is exactly one ``rule``; else where the grammar stops matching.

    ABNF describes octets: the text is read as Latin-1, so that each byte is one character
    (UTF-8 bytes of a quoted string are RFC 7230's ``obs-text``).
    """
    source = text.decode("latin-1")
    try:
        GFD229(rule).parse_all(source)
    except ParseError as error:
        stop = getattr(error, "start", 0)
        return f"{rule} stops matching at byte {stop}: {source[max(0, stop - 60):stop]!r} " \
               f"| {source[stop:stop + 60]!r}"
    return None


def abnfParts(rule: str, text: str, part: str) -> list[str]:
    """The text of every ``part`` in ``text`` read as one ``rule`` (e.g. the values of a
    header field holding a comma-separated list)."""
    found: list[str] = []
    pending = [GFD229(rule).parse_all(text)]
    while pending:
        node = pending.pop(0)
        if node.name == part:
            found.append(node.value)
        else:
            pending[:0] = node.children or []
    return found


def unquoted(quotedString: str) -> str:
    """The text an RFC 7230 ``quoted-string`` stands for: quoted-pairs give their octet."""
    assert quotedString.startswith('"') and quotedString.endswith('"'), quotedString
    inner, out, escaped = quotedString[1:-1], [], False
    for char in inner:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def jingErrors(documents: Mapping[str, bytes]) -> dict[str, list[str]]:
    """Each document's errors against RFC 4287's schema, from one run of jing for all."""
    jing = shutil.which("jing")
    if jing is None:
        pytest.fail("jing is not installed: Debian's package jing (.ci/run installs it)")
    errors: dict[str, list[str]] = {name: [] for name in documents}
    with tempfile.TemporaryDirectory() as folder:
        files: dict[str, str] = {}
        for number, (name, body) in enumerate(documents.items()):
            path = Path(folder) / f"{number}.xml"
            path.write_bytes(body)
            files[str(path)] = name
        run = subprocess.run([jing, "-c", str(DATA / "atom.rnc"), *files],
                             capture_output=True, text=True, timeout=120, check=False)
    for line in run.stdout.splitlines():
        file, _, problem = line.partition(":")
        if file in files:
            errors[files[file]].append(problem)
        else:
            pytest.fail(f"jing said: {line}\n{run.stderr}")
    return errors


ATOM = "{http://www.w3.org/2005/Atom}"


def schematronErrors(body: bytes) -> list[str]:
    """The two ``s:assert`` rules of RFC 4287's schema (annotations jing does not run)."""
    root = ElementTree.fromstring(body)
    feedAuthor = root.find(f"{ATOM}author") is not None
    entries = [root] if root.tag == f"{ATOM}entry" else root.findall(f"{ATOM}entry")
    problems = []
    if root.tag == f"{ATOM}feed" and not (
            feedAuthor or all(entry.find(f"{ATOM}author") is not None for entry in entries)):
        problems.append("An atom:feed must have an atom:author unless all of its atom:entry "
                        "children have an atom:author.")
    for entry in entries:
        links = entry.findall(f"{ATOM}link")
        if not (any(link.get("rel") in (None, "alternate") for link in links)
                or entry.find(f"{ATOM}content") is not None):
            problems.append("An atom:entry must have at least one atom:link element with a "
                            "rel attribute of 'alternate' or an atom:content.")
        if not (entry.find(f"{ATOM}author") is not None or feedAuthor
                or entry.find(f"{ATOM}source/{ATOM}author") is not None):
            problems.append("An atom:entry must have an atom:author if its feed does not.")
    return problems
