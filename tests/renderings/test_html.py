"""The HTML rendering: every page well-formed, everything shown and escaped, and every form
sending what the server reads.

Pages are parsed as XML (they are written to be well-formed) and, for the injection tests, also
tokenized by :mod:`html.parser` the way a browser would.  A form is "submitted" the way a
browser submits it -- its successful controls, urlencoded -- and the body goes through the
server's own reading: :func:`form.parse`, then :func:`describeEntity` or
:func:`describeInvocation`, then the model.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occi_twisted.model import (
    Description,
    Entity,
    Kind,
    Mixin,
    Registry,
    attributeDefinitions,
    availableActions,
    newEntity,
    updatedEntity,
    withMixins,
)
from occi_twisted.model.core import ABSTRACT
from occi_twisted.model.errors import BadRequest
from occi_twisted.model.infrastructure import (
    BACKUP_POLICY,
    COMPUTE,
    DEBIAN,
    IPNETWORK,
    IPNETWORKINTERFACE,
    MEDIUM,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    SMALL,
    SSH_KEY,
    STORAGE,
    STORAGELINK,
    USER_DATA,
)
from occi_twisted.model.requests import REQUEST, RequestRecord, RequestState
from occi_twisted.model.requestview import requestViewAt
from occi_twisted.renderings import form, html
from occi_twisted.renderings.document import Document, EntityView, RenderContext
from occi_twisted.renderings.html import HTML, PageContext, pageContext
from occi_twisted.renderings.html.markup import NOT_XML
from occi_twisted.renderings.html.shapes import shapeOf
from occi_twisted.renderings.html.words import number, slug, valueText
from occi_twisted.renderings.negotiation import MediaTypes
from occi_twisted.renderings.resolve import describeEntity, describeInvocation

BASE = "http://occi.example.com:8080"
REGISTRY = Registry.standard()
HOSTILE = "<script>alert('x')</script>\"&amp;<b onmouseover=\"alert(1)\">"


def page(path: str | None = None, *, registry: Registry = REGISTRY,
         draft: bool = False) -> PageContext:
    return pageContext(RenderContext(BASE), path=path, registry=registry, draft=draft)


def parse(body: bytes) -> ET.Element:
    """The page as an element tree; fails unless it is well-formed."""
    assert body.startswith(b"<!DOCTYPE html>\n<html")
    return ET.fromstring(body)


def byId(root: ET.Element, ident: str) -> ET.Element:
    found = [e for e in root.iter() if e.get("id") == ident]
    assert len(found) == 1, f"{len(found)} elements with id {ident!r}"
    return found[0]


def maybeId(root: ET.Element, ident: str) -> ET.Element | None:
    return next((e for e in root.iter() if e.get("id") == ident), None)


def textOf(element: ET.Element) -> str:
    return "".join(element.itertext())


def attributeCells(root: ET.Element) -> dict[str | None, str]:
    """The attributes table: each attribute's name and the text of its value."""
    return {row.get("data-attribute"): textOf(row.findall("td")[0])
            for row in byId(root, "attributes").iter("tr") if row.get("data-attribute")}


def classes(element: ET.Element) -> list[str]:
    return (element.get("class") or "").split()


def controls(formElement: ET.Element) -> Iterator[ET.Element]:
    for element in formElement.iter():
        if element.tag in ("input", "select", "textarea") and element.get("name"):
            yield element


def options(select: ET.Element) -> list[ET.Element]:
    return list(select.iter("option"))


def submit(
    formElement: ET.Element,
    fill: Mapping[str, str] | None = None,
    check: Sequence[str] = (),
) -> tuple[str, str | None, bytes]:
    """What a browser sends for ``formElement``: the path and ``?action=`` it posts to, and
    the urlencoded body of its successful controls.

    ``fill`` sets a field's value (for a select: which option), by the field's id or name;
    ``check`` ticks the checkboxes with these values.  A required field left empty gets a
    valid value, as a person must give one before the browser submits.
    """
    fill = dict(fill or {})
    pairs: list[tuple[str, str]] = []
    for control in controls(formElement):
        name = control.get("name") or ""
        ident = control.get("id") or ""
        key = ident if ident in fill else name
        required = control.get("required") == "required"
        if control.tag == "select":
            choices = options(control)
            chosen = next((o for o in choices if o.get("selected") == "selected"), choices[0])
            value = fill.pop(key, chosen.get("value") or "")
            assert value in [o.get("value") for o in choices], (name, value)
            if required and not value:
                value = next(o.get("value") or "" for o in choices if o.get("value"))
        elif control.tag == "textarea":
            value = fill.pop(key, control.text or "")
        elif control.get("type") == "checkbox":
            if control.get("value") not in check and control.get("checked") != "checked":
                continue
            value = control.get("value") or "on"
        else:
            value = fill.pop(key, control.get("value") or "")
            if required and not value:
                value = _validFor(control)
        pairs.append((name, value))
    assert not fill, f"no fields {sorted(fill)} in the form"
    assert formElement.get("method") == "post"
    target = urlsplit(formElement.get("action") or "")
    body = urlencode(pairs).encode()
    action = requestArgs(target.query, body).get("action", [None])[0]
    return target.path, action, body


def requestArgs(query: str, body: bytes) -> dict[str, list[str]]:
    """The arguments the HTTP layer reads (``request.args``): Twisted parses the query, then
    updates it with a urlencoded body's fields -- a body field replaces a query argument."""
    args = parse_qs(query)
    args.update(parse_qs(body.decode("utf-8")))
    return args


def _validFor(control: ET.Element) -> str:
    if control.get("type") == "number":
        return control.get("min") or "1"
    name = control.get("name") or ""
    if name.endswith((".source", ".target")):
        return "/compute/other"
    return "x1"


def formMethod(body: bytes) -> str | None:
    """The method a form body overrides POST with, read as the HTTP layer reads it."""
    named = parse_qs(body.decode("latin-1")).get("_method", [""])[-1].upper()
    return named or None


def nextPage(body: bytes) -> str | None:
    return parse_qs(body.decode("latin-1")).get("_next", [None])[-1]


class Tokens(HTMLParser):
    """What a browser's tokenizer sees: every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def tokens(body: bytes) -> Tokens:
    parser = Tokens()
    parser.feed(body.decode("utf-8"))
    parser.close()
    return parser


def assertNoScript(body: bytes) -> None:
    """Nothing in the page runs: no script element, no event handler, no script URL."""
    for tag, attrs in tokens(body).tags:
        assert tag not in ("script", "iframe", "object", "embed", "img"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "action", "src"):
                assert value is not None
                assert not value.strip().lower().startswith(("javascript:", "data:")), value


# -- entities -------------------------------------------------------------------------------


def compute(entityId: str = "c1", mixins: Sequence[Mixin] = (SMALL, SSH_KEY)) -> Entity:
    attributes = {
        "occi.core.title": "web server",
        "occi.core.summary": "serves the web",
        "occi.compute.hostname": "web.example.com",
        "occi.compute.architecture": "x64",
        "occi.compute.share": "3",
    }
    if SSH_KEY in mixins:
        attributes["occi.credentials.ssh.publickey"] = "ssh-ed25519 AAAA me@host"
    if USER_DATA in mixins:
        attributes["occi.compute.userdata"] = "I2Nsb3VkLWNvbmZpZw=="
    return newEntity(Description(kind=COMPUTE, mixins=tuple(mixins), attributes=attributes),
                     entityId=entityId)


def link(kind: Kind, linkId: str, target: str, **attributes: str) -> Entity:
    return newEntity(Description(kind=kind, attributes={
        "occi.core.source": "/compute/c1", "occi.core.target": target,
        "occi.core.target.kind": "http://schemas.ogf.org/occi/infrastructure#network",
        **attributes,
    }), entityId=linkId)


def computeView() -> EntityView:
    links = [
        link(NETWORKINTERFACE, "ni1", "/network/n1", **{"occi.core.title": "eth0"}),
        link(STORAGELINK, "sl1", "/storage/s1", **{"occi.storagelink.deviceid": "/dev/vdb"}),
    ]
    return EntityView(compute(), links)


def entityRoot(view: EntityView, context: RenderContext | None = None) -> ET.Element:
    rendered = HTML.entity(view, context or page(view.entity.location))
    assert rendered.contentType == "text/html; charset=utf-8"
    return parse(rendered.body)


def sampleEntities() -> list[Entity]:
    """An entity of every kind that has actions or mixins, with a mixin where one applies."""
    return [
        compute(),
        compute("c2", mixins=(MEDIUM, DEBIAN, USER_DATA)),
        newEntity(Description(kind=NETWORK, mixins=(IPNETWORK,), attributes={
            "occi.network.vlan": "12", "occi.network.address": "10.0.0.0/24",
            "occi.network.allocation": "static"}), entityId="n1"),
        newEntity(Description(kind=STORAGE, mixins=(BACKUP_POLICY,), attributes={
            "occi.storage.size": "10"}), entityId="s1"),
        link(NETWORKINTERFACE, "ni1", "/network/n1"),
    ]


def test_the_entity_page_shows_every_attribute_with_its_value() -> None:
    for entity in sampleEntities():
        root = entityRoot(EntityView(entity))
        assert attributeCells(root) == {name: valueText(value)
                         for name, value in entity.attributes.items()}


def test_the_entity_page_names_its_kind_mixins_and_state() -> None:
    view = computeView()
    root = entityRoot(view)
    assert textOf(byId(root, "title")) == "web server"
    kind = byId(root, "kind")
    assert "/compute/" in [a.get("href") for a in kind.iter("a")]
    assert f"/-/#{slug(COMPUTE)}" in [a.get("href") for a in kind.iter("a")]
    mixins = byId(root, "mixins")
    assert [li.get("data-mixin") for li in mixins.iter("li")] == [
        SMALL.identifier, SSH_KEY.identifier]
    assert textOf(byId(root, "state")) == "inactive"
    assert "state-inactive" in classes(byId(root, "state"))


def test_links_and_their_targets_are_followable() -> None:
    view = computeView()
    root = entityRoot(view)
    hrefs = [a.get("href") for a in byId(root, "links").iter("a")]
    for entity in view.links:
        assert entity.location in hrefs
        assert entity.target in hrefs
    assert "eth0" in textOf(byId(root, "links"))
    # A link's own page leads to both of its ends.
    linkRoot = entityRoot(EntityView(view.links[0]))
    ends = [a.get("href") for a in byId(linkRoot, "ends").iter("a")]
    assert ends == ["/compute/c1", "/network/n1"]


def test_requests_log_and_other_representations_are_linked() -> None:
    root = entityRoot(computeView())
    assert byId(root, "requests").get("href") == "/compute/c1/requests/"
    assert byId(root, "log").get("href") == "/compute/c1/log/"
    more = [a.get("href") for a in byId(root, "more").iter("a")]
    assert "/compute/c1?format=text" in more
    assert "/compute/c1?format=json" in more
    feeds = [e.get("href") for e in root.iter("link") if e.get("rel") == "alternate"]
    assert feeds == ["/log/", "/compute/c1/log/"]


def test_the_navigation_leads_everywhere() -> None:
    root = entityRoot(computeView())
    hrefs = [a.get("href") or "" for a in byId(root, "nav").iter("a")]
    expected = ["/", "/-/", "/log/", "/templates/"]
    expected += [k.location for k in REGISTRY.kinds() if k.location]
    assert sorted(hrefs) == sorted(expected)


# -- actions ---------------------------------------------------------------------------------


def actionCases() -> list[tuple[Entity, str]]:
    return [(entity, action.term) for entity in sampleEntities()
            for action in availableActions(entity.kind, entity.mixins)]


@pytest.mark.parametrize(("entity", "term"), actionCases(),
                         ids=lambda case: case if isinstance(case, str) else case.kind.term)
def test_every_action_has_a_form_with_its_attributes(entity: Entity, term: str) -> None:
    action = next(a for a in availableActions(entity.kind, entity.mixins) if a.term == term)
    root = entityRoot(EntityView(entity))
    found = byId(root, f"action-{term}")
    assert found.tag == "form"
    assert f"action-{term}" in classes(found)
    assert found.get("method") == "post"
    assert found.get("action") == f"{entity.location}?action={term}"
    fields = {c.get("name"): c for c in controls(found)}
    assert set(fields) == {d.name for d in action.attributes}
    for definition in action.attributes:
        control = fields[definition.name]
        assert (control.get("required") == "required") == definition.required
        if definition.enum:
            assert control.tag == "select"
            values = [o.get("value") for o in options(control) if o.get("value")]
            assert values == list(definition.enum)
            chosen = [o.get("value") for o in options(control) if o.get("selected")]
            assert chosen == [definition.default]
        elif definition.type.value in ("integer", "float"):
            assert control.get("type") == "number"
            for bound, value in (("min", definition.minimum), ("max", definition.maximum)):
                assert control.get(bound) == (None if value is None else number(value))
            if definition.default is not None:
                assert control.get("value") == str(definition.default)
        else:
            assert control.get("type") == "text"


@pytest.mark.parametrize(("entity", "term"), actionCases(),
                         ids=lambda case: case if isinstance(case, str) else case.kind.term)
def test_every_action_form_submits_an_invocation_the_server_accepts(
    entity: Entity, term: str
) -> None:
    action = next(a for a in availableActions(entity.kind, entity.mixins) if a.term == term)
    root = entityRoot(EntityView(entity))
    path, queryAction, body = submit(byId(root, f"action-{term}"))
    assert path == entity.location
    assert queryAction == term
    document = form.parse(body)
    invocation = describeInvocation(document, REGISTRY, queryAction, entity.actions())
    assert invocation.action == action
    for definition in action.attributes:
        if definition.default is not None:
            assert invocation.attributes[definition.name] == definition.default


def test_an_action_form_carries_what_the_person_chose() -> None:
    entity = compute()
    root = entityRoot(EntityView(entity))
    _, term, body = submit(byId(root, "action-stop"), fill={"method": "acpioff"})
    invocation = describeInvocation(form.parse(body), REGISTRY, term, entity.actions())
    assert invocation.attributes == {"method": "acpioff"}
    storage = sampleEntities()[3]
    root = entityRoot(EntityView(storage))
    _, term, body = submit(byId(root, "action-secure_erase"),
                           fill={"passes": "7", "pattern": "random"})
    invocation = describeInvocation(form.parse(body), REGISTRY, term, storage.actions())
    assert invocation.attributes == {"passes": 7, "pattern": "random"}


# -- update, mixins, delete ------------------------------------------------------------------


def test_the_update_form_holds_every_mutable_attribute_prefilled() -> None:
    for entity in sampleEntities():
        root = entityRoot(EntityView(entity))
        update = byId(root, "update")
        assert update.get("action") == entity.location
        fields = {c.get("name") or "": c for c in controls(update)}
        mutable = {name for name, d in shapeOf(entity).definitions.items() if d.mutable}
        assert set(fields) == mutable
        for name, control in fields.items():
            value = entity.attributes.get(name)
            expected = "" if value is None else valueText(value)
            if control.tag == "select":
                chosen = [o.get("value") for o in options(control) if o.get("selected")]
                assert chosen == ([expected] if expected else []), name
            else:
                assert (control.get("value") or "") == expected, name


def test_submitting_the_update_form_unchanged_changes_nothing() -> None:
    for entity in sampleEntities():
        root = entityRoot(EntityView(entity))
        path, action, body = submit(byId(root, "update"))
        assert (path, action) == (entity.location, None)
        document = form.parse(body)
        assert not document.categories and document.action is None
        updated = updatedEntity(entity, describeEntity(document, REGISTRY))
        assert updated.attributes == entity.attributes
        assert updated.mixins == entity.mixins


def test_submitting_the_update_form_with_changes_applies_them() -> None:
    entity = compute()
    root = entityRoot(EntityView(entity))
    _, _, body = submit(byId(root, "update"), fill={
        "occi.compute.cores": "3", "occi.core.title": "renamed"})
    updated = updatedEntity(entity, describeEntity(form.parse(body), REGISTRY))
    assert updated.attributes["occi.compute.cores"] == 3
    assert updated.attributes["occi.core.title"] == "renamed"


def test_the_associate_form_offers_each_mixin_that_can_be_added() -> None:
    entity = compute()  # small and ssh_key: another resource template would conflict
    root = entityRoot(EntityView(entity))
    associate = byId(root, "associate")
    assert associate.get("action") == entity.location
    select = byId(root, "associate-mixin")
    offered = [o.get("value") for o in options(select) if o.get("value")]
    expected = {m.identifier for m in REGISTRY.mixins()
                if m.appliesTo(COMPUTE) and m not in entity.mixins
                and m not in (OS_TPL, RESOURCE_TPL) and not m.isA(RESOURCE_TPL)}
    assert set(offered) == expected
    assert DEBIAN.identifier in offered and MEDIUM.identifier not in offered
    for identifier in offered:
        assert identifier is not None
        path, _, body = submit(associate, fill={"mixin": identifier})
        assert path == entity.location
        updated = updatedEntity(entity, describeEntity(form.parse(body), REGISTRY))
        assert identifier in [m.identifier for m in updated.mixins]


def test_each_mixin_has_a_form_that_removes_it() -> None:
    entity = compute()
    root = entityRoot(EntityView(entity))
    removals = [f for f in root.iter("form") if "remove-mixin" in classes(f)]
    assert len(removals) == len(entity.mixins)
    for mixin, removal in zip(entity.mixins, removals, strict=True):
        path, _, body = submit(removal)
        assert path == mixin.location
        assert formMethod(body) == "DELETE"
        assert nextPage(body) == entity.location
        document = form.parse(body)
        assert document == Document(locations=(entity.location,))
        kept = [m for m in entity.mixins if m != mixin]
        assert withMixins(entity, kept).mixins == tuple(kept)


def test_the_delete_form_posts_method_delete_to_the_entity() -> None:
    entity = compute()
    root = entityRoot(EntityView(entity))
    path, action, body = submit(byId(root, "delete"))
    assert (path, action) == (entity.location, None)
    assert formMethod(body) == "DELETE"
    assert nextPage(body) == "/compute/"
    assert form.parse(body) == Document()  # the browser's fields are not the entity's


# -- escaping ---------------------------------------------------------------------------------


def hostileEntity() -> EntityView:
    """Stored values as bad as they come (built directly: no parser would let them in)."""
    entity = Entity(kind=COMPUTE, mixins=(SSH_KEY,), attributes={
        "occi.core.id": "c1",
        "occi.core.title": HOSTILE,
        "occi.core.summary": "\"><img src=x onerror=alert(1)>\x00\x1b\ud800",
        "occi.compute.hostname": "</td></tr></table><script>alert(2)</script>",
        "occi.credentials.ssh.publickey": "' onfocus='alert(3)",
        "<img src=x onerror=alert(4)>": ["<script>", {"k": "</textarea><script>"}],
        "occi.compute.state": "x\" onclick=\"alert(5)",
    })
    evil = Entity(kind=NETWORKINTERFACE, mixins=(), attributes={
        "occi.core.id": "ni1", "occi.core.title": HOSTILE,
        "occi.core.source": "/compute/c1", "occi.core.target": "javascript:alert(6)",
        "occi.core.target.kind": "<x>#y",
    })
    return EntityView(entity, [evil])


def test_hostile_values_are_escaped_on_every_page() -> None:
    view = hostileEntity()
    bodies = [
        HTML.entity(view, page("/compute/c1")).body,
        HTML.entity(EntityView(view.links[0]), page("/networkinterface/ni1")).body,
        HTML.collectionStart(page("/compute/"))
        + HTML.collectionItem(view, True, page("/compute/"))
        + HTML.collectionItem(EntityView(view.links[0]), True, page("/compute/"))
        + HTML.collectionEnd(page("/compute/")),
        HTML.message(HOSTILE, page("/compute/c1")).body,
        HTML.locations(["javascript:alert(7)", "/compute/<x>", HOSTILE], page("/")).body,
    ]
    for body in bodies:
        parse(body)
        assertNoScript(body)


def test_hostile_values_read_back_as_written() -> None:
    view = hostileEntity()
    root = entityRoot(view)
    assert textOf(byId(root, "title")) == HOSTILE
    shown = attributeCells(root)
    assert shown["occi.compute.hostname"] == "</td></tr></table><script>alert(2)</script>"
    # Characters XML cannot hold (NUL, ESC, half a surrogate pair) are replaced, visibly.
    assert shown["occi.core.summary"] == "\"><img src=x onerror=alert(1)>\ufffd\ufffd\ufffd"
    update = {c.get("name"): c for c in controls(byId(root, "update"))}
    assert update["occi.core.title"].get("value") == HOSTILE
    assert update["occi.credentials.ssh.publickey"].get("value") == "' onfocus='alert(3)"
    # The unsafe target is shown, not linked.
    links = byId(root, "links")
    assert "javascript:alert(6)" in textOf(links)
    assert all(not (a.get("href") or "").startswith("javascript") for a in links.iter("a"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_any_title_and_summary_render_as_text(title: str, summary: str) -> None:
    entity = Entity(kind=COMPUTE, mixins=(), attributes={
        "occi.core.id": "c1", "occi.core.title": title, "occi.core.summary": summary})
    body = HTML.entity(EntityView(entity), page("/compute/c1")).body
    root = parse(body)
    assertNoScript(body)
    shown = attributeCells(root)
    # XML reads CR and CRLF as LF, as browsers do.
    expected = NOT_XML.sub("\ufffd", summary).replace("\r\n", "\n").replace("\r", "\n")
    assert shown["occi.core.summary"] == expected


def test_a_user_mixins_title_is_escaped_where_it_is_offered() -> None:
    registry = Registry.standard()
    registry.defineUserMixin(Mixin("http://example.com/tags#", "mine", title=HOSTILE,
                                   location="/mine/", owner="anonymous"))
    body = HTML.entity(EntityView(compute()), page("/compute/c1", registry=registry)).body
    assertNoScript(body)
    select = byId(parse(body), "associate-mixin")
    labels = {o.get("value"): textOf(o) for o in options(select)}
    assert labels["http://example.com/tags#mine"] == f"mine: {HOSTILE}"


# -- collections ------------------------------------------------------------------------------


def listing(path: str | None, views: Sequence[EntityView]) -> bytes:
    """The pieces as the HTTP layer writes them: resources first, then links, ``first`` at the
    start of each group."""
    context = page(path) if path is not None else RenderContext(BASE)
    resources = [v for v in views if not v.entity.isLink]
    links = [v for v in views if v.entity.isLink]
    return (HTML.collectionStart(context) + b"".join(
        HTML.collectionItem(view, i == 0, context)
        for group in (resources, links) for i, view in enumerate(group)
    ) + HTML.collectionEnd(context))


def test_collection_pieces_concatenate_to_one_valid_page() -> None:
    views = [EntityView(e) for e in sampleEntities()]
    root = parse(listing("/entity/", views))
    table = byId(root, "entities")
    groups = table.findall("tbody")
    assert [g.get("class") for g in groups] == ["resources", "links"]
    rows = {g.get("class"): g.findall("tr") for g in groups}
    assert len(rows["resources"]) == 4 and len(rows["links"]) == 1
    hrefs = [tr.find("td/a").get("href") for g in groups for tr in g.findall("tr")]  # type: ignore[union-attr]
    assert hrefs == [v.entity.location for v in views]
    first = rows["resources"][0].findall("td")
    assert [textOf(td) for td in first[:4]] == ["web server", "compute", "inactive",
                                                 "small, ssh_key"]
    linkCells = [a.get("href") for a in rows["links"][0].findall("td")[4].iter("a")]
    assert linkCells == ["/compute/c1", "/network/n1"]


@pytest.mark.parametrize("kinds", ["none", "resources", "links"])
def test_any_listing_is_a_valid_page(kinds: str) -> None:
    entities = sampleEntities()
    chosen = {"none": [], "resources": entities[:1], "links": entities[-1:]}[kinds]
    root = parse(listing("/compute/", [EntityView(e) for e in chosen]))
    assert len(list(byId(root, "entities").iter("tr"))) == 1 + len(chosen)


def test_a_listing_streams_in_pieces_that_are_each_plain_bytes() -> None:
    context = page("/compute/")
    start = HTML.collectionStart(context)
    assert HTML.streams is True
    assert start.endswith(b'<tbody class="resources">')
    row = HTML.collectionItem(EntityView(compute()), False, context)
    assert row.startswith(b"<tr>") and row.endswith(b"</tr>")
    assert HTML.collectionEnd(context).endswith(b"</html>")


def test_only_kinds_no_client_creates_have_no_collection() -> None:
    """GFD.223 section 3: a kind that cannot be instantiated has no location; nor has the
    request kind, whose entities the server makes below the entity they act on."""
    assert {k.identifier for k in REGISTRY.kinds() if k.location is None} == {
        *ABSTRACT, REQUEST.identifier}


@pytest.mark.parametrize("kind", [k for k in REGISTRY.kinds() if k.location],
                         ids=lambda k: k.term)
def test_every_kind_collection_has_a_create_form_the_server_accepts(kind: Kind) -> None:
    assert kind.location is not None
    root = parse(listing(kind.location, []))
    create = maybeId(root, "create")
    assert create is not None
    fields = {c.get("name") for c in controls(create)}
    mutable = {d.name for d in attributeDefinitions(kind).values() if d.mutable}
    assert mutable <= fields
    path, action, body = submit(create)
    assert (path, action) == (kind.location, None)
    entity = newEntity(describeEntity(form.parse(body), REGISTRY), kind=kind)
    assert entity.kind == kind


def test_the_compute_create_form_offers_templates_and_mixins() -> None:
    root = parse(listing("/compute/", []))
    create = byId(root, "create")
    resources = [o.get("value") for o in options(byId(root, "create-resource_tpl"))]
    systems = [o.get("value") for o in options(byId(root, "create-os_tpl"))]
    assert resources[0] == "" and systems[0] == ""
    assert set(resources[1:]) == {m.identifier for m in REGISTRY.mixins()
                                  if m.isA(RESOURCE_TPL) and m != RESOURCE_TPL}
    assert set(systems[1:]) == {m.identifier for m in REGISTRY.mixins()
                                if m.isA(OS_TPL) and m != OS_TPL}
    boxes = [c.get("value") for c in controls(create) if c.get("type") == "checkbox"]
    assert set(boxes) == {USER_DATA.identifier, SSH_KEY.identifier}
    # The walkthrough's way: a template, a few attributes, a mixin ticked.
    _, _, body = submit(create, fill={
        "create-resource_tpl": MEDIUM.identifier, "create-os_tpl": DEBIAN.identifier,
        "occi.compute.hostname": "db1", "occi.compute.cores": "3",
    }, check=[SSH_KEY.identifier])
    entity = newEntity(describeEntity(form.parse(body), REGISTRY), kind=COMPUTE)
    assert entity.mixins == (MEDIUM, DEBIAN, SSH_KEY)
    assert entity.attributes["occi.compute.cores"] == 3  # what the person typed
    assert entity.attributes["occi.compute.memory"] == 4.0  # the template's
    assert entity.attributes["occi.compute.architecture"] == "x64"  # the OS template's


def test_a_mixin_collection_has_a_form_that_adds_an_entity() -> None:
    root = parse(listing("/resource_tpl/small/", [EntityView(compute())]))
    assert maybeId(root, "create") is None
    associate = byId(root, "associate")
    path, _, body = submit(associate, fill={"location": "/compute/c1"})
    assert path == "/resource_tpl/small/"
    assert form.parse(body).locations == ("/compute/c1",)
    assert "small" in textOf(byId(root, "title"))


def test_the_requests_of_an_entity_are_a_listing_that_leads_back() -> None:
    record = requestRecord(RequestState.RUNNING)
    view = EntityView(requestViewAt(record, "/compute/c1"))
    root = parse(listing("/compute/c1/requests/", [view]))
    assert textOf(byId(root, "title")) == "Requests of /compute/c1"
    hrefs = [a.get("href") for a in root.iter("a")]
    assert "/compute/c1" in hrefs
    assert "/compute/c1/requests/r1" in hrefs
    assert maybeId(root, "create") is None


def test_a_listing_without_a_page_context_still_renders() -> None:
    root = parse(listing(None, [EntityView(compute())]))
    assert textOf(byId(root, "title")) == "Entities"
    assert maybeId(root, "create") is None


# -- requests, drafts --------------------------------------------------------------------------


def requestRecord(state: RequestState, percent: float = 40.0) -> RequestRecord:
    return RequestRecord(
        id="r1", entityId="s1", owner="anonymous",
        action="http://schemas.occi-twisted.org/occi/infrastructure/storage/action#secure_erase",
        attributes={"passes": 3, "pattern": "dod3"}, state=state, notBefore=0.0, created=0.0,
        updated=1.0, progress={"percent": percent, "pass": 2, "passes": 3},
        message="<pass 2 of 3>", started=0.5,
    )


def test_a_running_request_shows_its_progress_and_can_be_cancelled() -> None:
    view = EntityView(requestViewAt(requestRecord(RequestState.RUNNING), "/storage/s1"))
    body = HTML.entity(view, page("/storage/s1/requests/r1")).body
    root = parse(body)
    assert textOf(byId(root, "state")) == "running"
    progress = byId(root, "progress")
    assert progress.tag == "progress"
    assert (progress.get("max"), progress.get("value")) == ("100", "40")
    assert textOf(byId(root, "request-message")) == "<pass 2 of 3>"
    assert "pass 2 of 3" in textOf(root)
    assert "/storage/s1" in [a.get("href") for a in byId(root, "title").iter("a")]
    refresh = [m for m in root.iter("meta") if m.get("http-equiv") == "refresh"]
    assert len(refresh) == 1
    path, _, formBody = submit(byId(root, "cancel"))
    assert path == "/storage/s1/requests/r1"
    assert formMethod(formBody) == "DELETE"
    shown = {row.get("data-attribute") for row in byId(root, "attributes").iter("tr")}
    assert set(view.entity.attributes) <= shown


def test_a_finished_request_neither_reloads_nor_offers_to_cancel() -> None:
    view = EntityView(requestViewAt(requestRecord(RequestState.SUCCEEDED, 100.0), "/storage/s1"))
    root = entityRoot(view)
    assert maybeId(root, "cancel") is None
    assert not [m for m in root.iter("meta") if m.get("http-equiv") == "refresh"]
    assert byId(root, "progress").get("value") == "100"


def test_a_templates_draft_is_a_create_form_that_keeps_its_id() -> None:
    draft = newEntity(Description(kind=COMPUTE, mixins=(SMALL,)), entityId="d-1")
    root = entityRoot(EntityView(draft), page("/templates/small", draft=True))
    create = byId(root, "create")
    assert maybeId(root, "delete") is None and maybeId(root, "update") is None
    fields = {c.get("name"): c.get("value") for c in controls(create)}
    assert fields["occi.compute.cores"] == "1"
    path, _, body = submit(create, fill={"occi.core.title": "from the template"})
    assert path == "/compute/"
    entity = newEntity(describeEntity(form.parse(body), REGISTRY), kind=COMPUTE)
    assert entity.id == "d-1"
    assert entity.mixins == (SMALL,)
    assert entity.attributes["occi.compute.memory"] == 1.0
    assert entity.attributes["occi.core.title"] == "from the template"


# -- the query interface, locations, messages --------------------------------------------------


def test_the_query_interface_shows_every_category_with_its_attributes() -> None:
    categories = list(REGISTRY)
    root = parse(HTML.categories(categories, page("/-/")).body)
    for category in categories:
        section = byId(root, category.categoryClass + "s")
        article = byId(section, slug(category))
        assert article.get("data-identifier") == category.identifier
        assert category.categoryClass in classes(article)
        names = [row.get("data-attribute") for row in article.iter("tr")
                 if row.get("data-attribute")]
        assert names == [d.name for d in category.attributes]
    compute = byId(root, slug(COMPUTE))
    hrefs = [a.get("href") for a in compute.iter("a")]
    assert "/compute/" in hrefs
    assert f"/-/#{slug(COMPUTE.actions[0])}" in hrefs


def test_the_landing_page_links_every_location_it_is_given() -> None:
    locations = ["/-/", "/compute/", "/storage/", "/templates/", "/log/", "javascript:x()"]
    body = HTML.locations(locations, page("/")).body
    root = parse(body)
    assert textOf(byId(root, "title")) == "OCCI server"
    items = byId(root, "locations").findall("li")
    assert [li.find("a").get("href") if li.find("a") is not None else None  # type: ignore[union-attr]
            for li in items] == [*locations[:-1], None]
    assert "Compute Resource" in textOf(items[1])
    assertNoScript(body)


def test_the_templates_page_names_each_template() -> None:
    root = parse(HTML.locations(["/templates/small", "/templates/debian-12"],
                                page("/templates/")).body)
    text = textOf(byId(root, "locations"))
    assert SMALL.title in text and DEBIAN.title in text


def test_a_message_is_one_sentence_with_a_way_back() -> None:
    root = parse(HTML.message("Deleted /compute/c1.", page("/compute/c1")).body)
    assert textOf(byId(root, "message")) == "Deleted /compute/c1."
    assert byId(root, "back").get("href") == "/compute/"
    plain = parse(HTML.message("Mixin defined.", RenderContext(BASE)).body)
    assert maybeId(plain, "back") is None


def test_an_error_page_says_what_went_wrong() -> None:
    body = HTML.error(409, f"Cannot start: {HOSTILE}", page("/compute/c1")).body
    root = parse(body)
    assertNoScript(body)
    assert textOf(byId(root, "title")) == "409 Conflict"
    assert textOf(byId(root, "message")) == f"Cannot start: {HOSTILE}"
    assert byId(root, "back").get("href") == "/compute/"
    assert textOf(byId(parse(HTML.error(599, "odd", page()).body), "title")) == "599 Error"


def test_pages_render_with_a_plain_render_context() -> None:
    root = entityRoot(computeView(), RenderContext(BASE))
    assert byId(root, "update") is not None
    assert byId(root, "associate-mixin") is not None


def test_registering_adds_a_renderer_and_no_parser() -> None:
    types = MediaTypes()
    html.register(types)
    assert types.renderer("text/html") is HTML
    assert types.outputTypes() == ["text/html"]
    assert types.parser("text/html") is None
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert types.choose(browser) == "text/html"


def test_forms_never_send_a_field_the_server_would_misread() -> None:
    """Every field name in every form is one form.parse reads as meant: a category field, a
    location, a browser field, or an attribute it keeps by its full name.  And none is a query
    argument the HTTP layer reads, which a form field would replace in ``request.args``."""
    bodies = [HTML.entity(EntityView(e), page(e.location)).body for e in sampleEntities()]
    bodies += [listing(k.location, []) for k in REGISTRY.kinds() if k.location]
    special = {"kind", "mixin", "location", "_method", "_next"}
    queryArguments = {"action", "format", "page", "number", "after"}
    for body in bodies:
        for formElement in parse(body).iter("form"):
            for control in controls(formElement):
                name = control.get("name") or ""
                assert name not in queryArguments, name
                if name in special:
                    continue
                assert form.attributeName(name) == name, name


def test_an_attribute_form_field_value_that_is_not_valid_is_refused_by_the_server() -> None:
    # The form does not validate: the model does, and says why.
    entity = compute()
    root = entityRoot(EntityView(entity))
    _, _, body = submit(byId(root, "update"), fill={"occi.compute.cores": "0"})
    with pytest.raises(BadRequest, match=r"occi\.compute\.cores"):
        updatedEntity(entity, describeEntity(form.parse(body), REGISTRY))
    _, _, body = submit(byId(root, "update"), fill={"occi.compute.share": "many"})
    with pytest.raises(BadRequest):
        updatedEntity(entity, describeEntity(form.parse(body), REGISTRY))


def test_network_interface_mixin_attributes_appear_on_the_update_form() -> None:
    entity = newEntity(Description(kind=NETWORKINTERFACE, mixins=(IPNETWORKINTERFACE,),
                                   attributes={"occi.core.source": "/compute/c1",
                                               "occi.core.target": "/network/n1",
                                               "occi.networkinterface.address": "10.0.0.2"}),
                       entityId="ni2")
    root = entityRoot(EntityView(entity))
    fields = {c.get("name"): c for c in controls(byId(root, "update"))}
    assert fields["occi.networkinterface.address"].get("value") == "10.0.0.2"
    allocation = fields["occi.networkinterface.allocation"]
    assert [o.get("value") for o in options(allocation)] == ["", "dynamic", "static"]
