"""What the compliance tester pOCCI 1.0.3 reads in our text renderings, and what it writes.

pOCCI is stricter than GFD.229 in places, and what it accepts is written down here as
:class:`PocciRules` (a restatement of its ``render_text.py``), so that these tests hold even
where pOCCI is not installed.  Where it is (``.ci/install-pocci``), its own parsers read our
renderings too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import ModuleType
from urllib.parse import urlparse

import pytest

from occi_twisted.model import Category, Description, Mixin, Registry, newEntity
from occi_twisted.model.infrastructure import (
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    MEDIUM,
    NETWORK,
    NETWORKINTERFACE,
    RESOURCE_TPL,
    STORAGE,
    STORAGELINK,
    UBUNTU,
)
from occi_twisted.renderings.document import CategoryRef, EntityView, RenderContext, Rendered
from occi_twisted.renderings.text import OCCI, PLAIN, parseOcci, parsePlain

from .support import INFRA

CONTEXT = RenderContext("http://127.0.0.1:8080")


def entities() -> list[EntityView]:
    """A compute with a network interface and a storage link, its targets, and the links."""
    vm = newEntity(Description(kind=COMPUTE, mixins=(MEDIUM, UBUNTU), attributes={
        "occi.core.title": "Test_title_1", "occi.compute.cores": 2, "occi.compute.memory": 1e-7,
        "occi.core.summary": "a; b, c",
    }))
    net = newEntity(Description(kind=NETWORK, mixins=(IPNETWORK,), attributes={
        "occi.network.address": "10.0.0.0/24", "occi.network.vlan": 12}))
    disk = newEntity(Description(kind=STORAGE, attributes={"occi.storage.size": 0.1}))
    nic = newEntity(Description(kind=NETWORKINTERFACE, mixins=(IPNETWORKINTERFACE,), attributes={
        "occi.core.source": vm.location, "occi.core.target": net.location,
        "occi.core.target.kind": NETWORK.identifier,
        "occi.networkinterface.interface": "eth0",
        "occi.networkinterface.mac": "00:80:41:ae:fd:7e",
        "occi.networkinterface.address": "10.0.0.2",
    }))
    link = newEntity(Description(kind=STORAGELINK, attributes={
        "occi.core.source": vm.location, "occi.core.target": f"{CONTEXT.base}{disk.location}",
        "occi.storagelink.deviceid": "/dev/blk0"}))
    return [EntityView(vm, [nic, link]), EntityView(net), EntityView(disk), EntityView(nic),
            EntityView(link)]


def categories() -> list[Category]:
    registry = Registry.standard()
    registry.defineUserMixin(Mixin("http://example.com/occi/my_stuff#", "stufik",
                                   depends=(RESOURCE_TPL,), location="/mixin/extra_large/",
                                   owner="anonymous"))
    return list(registry)


def headerLines(rendered: Rendered) -> list[str]:
    """Response headers as pycurl hands them to pOCCI."""
    return [f"{name}: {value}\r\n" for name, value in rendered.headers]


# -- pOCCI's reading rules, restated --------------------------------------------------------


def checkURL(text: str, absolute: bool = False) -> None:
    parts = urlparse(text)
    assert parts.scheme or parts.netloc or parts.path, text
    if absolute:
        assert parts.scheme and parts.netloc, text


class PocciRules:
    """pOCCI 1.0.3's ``TextRenderer`` parsing, as assertions.

    It splits at every ``;`` (quotes or not), needs every Category, rel, self and category
    value quoted and non-empty, knows only GFD.229's Category keys, reads numbers as
    ``[0-9.+-]+``, and needs absolute URIs in ``X-OCCI-Location``.
    """

    quoted = re.compile(r'^"(.*)"$')
    number = re.compile(r"^[0-9.+-]+$")
    keyValue = re.compile(r"\s*?=\s*")
    key = re.compile(r"[A-Za-z0-9_.-]*$")
    attributeDefinitions = re.compile(r"([^{ ]+)(\{[^}]*\})?\s*")
    categoryKeys = frozenset({"scheme", "class", "title", "rel", "location", "attributes",
                              "actions"})

    def category(self, body: str) -> dict[str, str]:
        chunks = re.split(r";\s*", body)
        assert chunks[0], body
        found = {"term": chunks[0]}
        for chunk in chunks[1:]:
            key, value = self.keyValue.split(chunk, maxsplit=1)
            assert self.key.match(key) and key in self.categoryKeys, chunk
            match = self.quoted.match(value)
            assert match is not None or key == "class", chunk
            value = match.group(1) if match else value
            assert value and value[0] != '"' and not value.endswith('"'), chunk
            if key in ("location", "scheme"):
                checkURL(value)
            if key == "attributes":
                rest = value
                while rest:
                    found_ = self.attributeDefinitions.match(rest)
                    assert found_ is not None, value
                    for word in (found_.group(2) or "{}")[1:-1].split():
                        assert word in ("required", "immutable"), value
                    rest = rest[found_.end():]
            if key == "actions":
                for action in value.split():
                    checkURL(action, absolute=True)
            found[key] = value
        assert {"scheme", "class"} <= found.keys(), body
        return found

    def link(self, body: str) -> None:
        chunks = re.split(r";\s*", body)
        target = re.match(r"^<(.*)>$", chunks[0])
        assert target is not None, body
        checkURL(target.group(1))
        keys = set()
        for chunk in chunks[1:]:
            key, value = self.keyValue.split(chunk, maxsplit=1)
            assert self.key.match(key), chunk
            match = self.quoted.match(value)
            assert match is not None or key not in ("rel", "self", "category"), chunk
            value = match.group(1) if match else value
            assert value and value[0] != '"' and not (len(value) >= 2 and value[-1] == '"'), chunk
            keys.add(key)
        assert "rel" in keys, body

    def attribute(self, body: str) -> None:
        key, value = self.keyValue.split(body, maxsplit=1)
        assert self.key.match(key), body
        match = self.quoted.match(value)
        if match is not None:
            # pOCCI drops a string whose escapes shorten it: no escapes where it can be helped.
            assert "\\" not in match.group(1), body
            return
        assert self.number.match(value) or value in ("true", "false"), body

    def resource(self, lines: list[str]) -> None:
        assert lines
        for line in lines:
            name, _, body = line.partition(":")
            body = body.lstrip()
            if name.lower() == "category":
                self.category(body)
            elif name.lower() == "link":
                self.link(body)
            else:
                assert name.lower() == "x-occi-attribute", line
                self.attribute(body)

    def headerValues(self, line: str) -> Iterator[str]:
        """pOCCI's split of a header value at commas outside quotes."""
        chunk = re.compile(r'(?P<chunk>((?P<quoted>"([^"\\]|\\.)*")|(?P<term>[^,"\\]+))*)'
                           r"(?P<sep>\s*,\s*)?")
        rest = line
        while rest:
            match = chunk.match(rest)
            assert match is not None and match.end() > 0, rest
            rest = rest[match.end():]
            assert not rest or match.group("sep"), rest
            yield match.group("chunk").strip(" \t")


RULES = PocciRules()


@pytest.mark.parametrize("index", range(5))
def test_entities_read_in_pocci_text_plain(index: int) -> None:
    view = entities()[index]
    RULES.resource(PLAIN.entity(view, CONTEXT).body.decode().splitlines())


@pytest.mark.parametrize("index", range(5))
def test_entities_read_in_pocci_text_occi(index: int) -> None:
    view = entities()[index]
    lines = []
    for line in headerLines(OCCI.entity(view, CONTEXT)):
        name, _, value = line.rstrip("\r\n").partition(": ")
        lines += [f"{name}: {item}" for item in RULES.headerValues(value)]
    RULES.resource(lines)


def test_query_interface_reads_in_pocci() -> None:
    rendered = PLAIN.categories(categories(), CONTEXT).body.decode().splitlines()
    found = [RULES.category(line.partition(": ")[2]) for line in rendered]
    byTerm = {category["term"]: category for category in found}
    # What the tests look for: kinds whose rel is core#resource, templates by their rel, and
    # locations they can append to the base URL.
    assert byTerm["compute"]["rel"] == "http://schemas.ogf.org/occi/core#resource"
    assert byTerm["compute"]["location"] == "/compute/"
    assert byTerm["ubuntu-24.04"]["rel"] == "http://schemas.ogf.org/occi/infrastructure#os_tpl"
    assert byTerm["medium"]["rel"] == "http://schemas.ogf.org/occi/infrastructure#resource_tpl"
    assert "occi.storage.size{required}" in byTerm["storage"]["attributes"]
    assert "occi.storagelink.deviceid{required}" in byTerm["storagelink"]["attributes"]
    for category in found:
        assert category.get("location", "/").startswith("/")


def test_locations_read_in_pocci() -> None:
    paths = [view.entity.location for view in entities()]
    for line in PLAIN.locations(paths, CONTEXT).body.decode().splitlines():
        assert line.startswith("X-OCCI-Location: ")
        checkURL(line.partition(": ")[2], absolute=True)
    (line,) = headerLines(OCCI.locations(paths, CONTEXT))
    for uri in RULES.headerValues(line.partition(": ")[2].rstrip("\r\n")):
        checkURL(uri, absolute=True)


def test_what_pocci_sends_back_after_get_modify_put() -> None:
    # pOCCI re-renders what it read: ';' without spaces, every Link attribute quoted, the
    # action links included.
    body = (
        f'Category: compute;scheme="{INFRA}";class="kind";title="Compute Resource";'
        f'rel="http://schemas.ogf.org/occi/core#resource";location="/compute/"\r\n'
        f'Link: </network/n1>;rel="{INFRA}network";self="/networkinterface/l1";'
        f'category="{INFRA}networkinterface";occi.core.id="l1";'
        f'occi.networkinterface.vlan="12"\r\n'
        f'Link: </compute/c1?action=start>;'
        f'rel="http://schemas.ogf.org/occi/infrastructure/compute/action#start"\r\n'
        f'X-OCCI-Attribute: occi.core.id="c1"\r\n'
        f'X-OCCI-Attribute: occi.compute.memory=1.0\r\n'
        f'X-OCCI-Attribute: occi.core.title="c_pOCCI_1"\r\n'
    ).encode()
    parsed = parsePlain(body)
    assert parsed.categories[0].term == "compute"
    (link,) = parsed.links
    assert link.location == "/networkinterface/l1"
    assert link.attributes == {"occi.core.id": "l1", "occi.networkinterface.vlan": "12"}
    assert parsed.attributes == {"occi.core.id": "c1", "occi.compute.memory": 1.0,
                                 "occi.core.title": "c_pOCCI_1"}
    headers = {
        "category": [f'compute;scheme="{INFRA}";class="kind";title="Compute Resource";'
                     f'rel="http://schemas.ogf.org/occi/core#resource";location="/compute/"'],
        "link": [f'</network/n1>;rel="{INFRA}network";self="/networkinterface/l1";'
                 f'category="{INFRA}networkinterface";occi.core.id="l1",'
                 f'</compute/c1?action=start>;rel="http://schemas.ogf.org/occi/'
                 f'infrastructure/compute/action#start"'],
        "x-occi-attribute": ['occi.core.id="c1",occi.compute.memory=1.0,'
                             'occi.core.title="c_pOCCI_1"'],
    }
    viaHeaders = parseOcci(b"", headers)
    assert viaHeaders.categories == parsed.categories
    assert len(viaHeaders.links) == 1
    assert viaHeaders.attributes == parsed.attributes


def test_what_pocci_sends_to_trigger_an_action_and_to_filter() -> None:
    action = parseOcci(b"", {"category": [
        'start;scheme="http://schemas.ogf.org/occi/infrastructure/compute/action#";'
        'class="action";title="Start the compute instance"']})
    assert action.categories[0].cls == "action"
    filtered = parseOcci(b"", {"content-type": ["text/occi"], "category": [
        'entity;scheme="http://schemas.ogf.org/occi/core#";class="kind"']})
    assert filtered.categories == (
        CategoryRef("http://schemas.ogf.org/occi/core#", "entity", cls="kind"),)


# -- pOCCI itself, where installed ----------------------------------------------------------


@pytest.fixture(scope="module")
def pocci() -> tuple[ModuleType, ModuleType]:
    renderText = pytest.importorskip("pOCCI.render_text")
    renderHTTP = pytest.importorskip("pOCCI.render_http")
    return renderText, renderHTTP


def test_pocci_reads_and_writes_entities(pocci: tuple[ModuleType, ModuleType]) -> None:
    renderText, renderHTTP = pocci
    plain, headers = renderText.TextRenderer(), renderHTTP.HTTPHeadersRenderer()
    for view in entities():
        fromBody = plain.parse_resource(
            PLAIN.entity(view, CONTEXT).body.decode().splitlines(), None)
        fromHeaders = headers.parse_resource(None, headerLines(OCCI.entity(view, CONTEXT)))
        assert str(fromBody) == str(fromHeaders)
        assert fromBody[0] and fromBody[2]
        # GET, modify, PUT: what pOCCI writes back reads as what we wrote.
        body, _ = plain.render_resource(*fromBody)
        _, written = headers.render_resource(*fromHeaders)
        asHeaders: dict[str, list[str]] = {}
        for line in written:
            name, _, value = line.partition(":")
            asHeaders.setdefault(name.lower(), []).append(value.strip())
        again = parsePlain(body.encode())
        assert again == parseOcci(b"", asHeaders)
        assert [c.identifier for c in again.categories] == [
            c.identifier for c in (view.entity.kind, *view.entity.mixins)]
        assert len(again.links) == len(view.links)


def test_pocci_reads_the_query_interface(pocci: tuple[ModuleType, ModuleType]) -> None:
    renderText, renderHTTP = pocci
    found = renderText.TextRenderer().parse_categories(
        PLAIN.categories(categories(), CONTEXT).body.decode().splitlines(), None)
    viaHeaders = renderHTTP.HTTPHeadersRenderer().parse_categories(
        None, headerLines(OCCI.categories(categories(), CONTEXT)))
    assert [dict(c) for c in found] == [dict(c) for c in viaHeaders]
    assert len(found) == len(categories())


def test_pocci_reads_listings(pocci: tuple[ModuleType, ModuleType]) -> None:
    renderText, renderHTTP = pocci
    paths = [view.entity.location for view in entities()]
    expected = [CONTEXT.absolute(path) for path in paths]
    assert renderText.TextRenderer().parse_locations(
        PLAIN.locations(paths, CONTEXT).body.decode().splitlines(), None) == expected
    assert renderHTTP.HTTPHeadersRenderer().parse_locations(
        None, headerLines(OCCI.locations(paths, CONTEXT))) == expected
