"""Hypothesis strategies the renderings' tests share: values and entities the model holds,
entities with any attributes at all, documents as clients write them, and damaged bodies."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from occi_twisted.model import (
    Description,
    Entity,
    Mixin,
    attributeDefinitions,
    newEntity,
    withState,
)
from occi_twisted.model import infrastructure as infra
from occi_twisted.model.core import LINK, RESOURCE
from occi_twisted.renderings.document import CategoryRef, Document, EntityView, LinkRef

from .support import EVERYTHING, SOURCE, TARGET, TARGET_KIND


def damages(sample: bytes, alphabet: bytes) -> st.SearchStrategy[bytes]:
    """``sample`` with up to four places cut (up to three bytes) and replaced by one byte of
    ``alphabet``."""
    cuts = st.lists(st.tuples(st.integers(0, len(sample)), st.integers(0, 3),
                              st.sampled_from(list(alphabet))), min_size=1, max_size=4)

    def damaged(damage: list[tuple[int, int, int]]) -> bytes:
        body = bytearray(sample)
        for position, cut, byte in damage:
            body[position:position + cut] = bytes([byte])
        return bytes(body)

    return cuts.map(damaged)


# -- values and entities the model holds ---------------------------------------------------

#: The control characters no client gives in a string attribute (all but the tab): they are
#: refused at input, since no text rendering can carry one (RFC 7230 quoted-string).
CONTROLS = "".join(map(chr, [*range(0x09), *range(0x0A, 0x20), 0x7F]))


def strings(max_size: int) -> st.SearchStrategy[str]:
    """Any string a client may give a string attribute."""
    return st.text(st.characters(exclude_categories=["Cs"], exclude_characters=CONTROLS),
                   max_size=max_size)


# Values of every type, as the model holds them.
_jsonLeaf = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
jsonValues = st.recursive(
    _jsonLeaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
_cidrs = st.one_of(
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=4), st.integers(0, 32)),
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=6), st.integers(0, 128)),
)
_uriValues = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=CONTROLS),
                     min_size=1, max_size=20).filter(
    lambda u: not any(c.isspace() for c in u))
everyType = st.fixed_dictionaries({}, optional={
    "test.string": strings(40),
    "test.enum": st.sampled_from(EVERYTHING.attributes[1].enum),
    "test.integer": st.integers(min_value=-(10**40), max_value=10**40),
    "test.float": st.floats(allow_nan=False, allow_infinity=False),
    "test.boolean": st.booleans(),
    "test.list": st.lists(jsonValues, max_size=4),
    "test.hash": st.dictionaries(st.text(max_size=8), jsonValues, max_size=4),
    "test.uri": _uriValues,
    "test.ip": st.ip_addresses().map(str),
    "test.cidr": _cidrs,
})
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._~:@-]{0,40}", fullmatch=True)


@st.composite
def modelResources(draw: st.DrawFn) -> Entity:
    """A resource the model accepts, with any values of every attribute type."""
    attributes: dict[str, object] = draw(everyType)
    attributes["occi.core.id"] = draw(ids)
    if draw(st.booleans()):
        attributes["occi.core.title"] = draw(strings(30))
    if draw(st.booleans()):
        attributes["occi.core.summary"] = draw(strings(30))
    kind = draw(st.sampled_from([infra.COMPUTE, infra.NETWORK, infra.STORAGE]))
    mixins: tuple[Mixin, ...] = (EVERYTHING,)
    if kind is infra.COMPUTE:
        mixins += draw(st.sampled_from([(), (infra.MEDIUM,), (infra.MEDIUM, infra.UBUNTU)]))
        attributes["occi.compute.cores"] = draw(st.integers(1, 4096))
        attributes["occi.compute.hostname"] = draw(st.from_regex(r"[a-z][a-z0-9.-]{0,20}[a-z]",
                                                                 fullmatch=True))
    elif kind is infra.NETWORK:
        mixins += (infra.IPNETWORK,)
        attributes["occi.network.vlan"] = draw(st.integers(0, 4095))
        attributes["occi.network.address"] = draw(_cidrs)
    else:
        attributes["occi.storage.size"] = draw(st.floats(0, 1 << 20))
    entity = newEntity(Description(kind=kind, mixins=mixins, attributes=attributes))
    states = attributeDefinitions(kind)[f"occi.{kind.term}.state"].enum
    state = draw(st.one_of(st.none(), st.sampled_from(states)))
    if state is not None:  # the server's to set, and rendered like any other attribute
        entity = withState(entity, {f"occi.{kind.term}.state": state,
                                    f"occi.{kind.term}.state.message": draw(strings(9))})
    return entity


@st.composite
def modelLinks(draw: st.DrawFn, source: str = "/compute/vm1") -> Entity:
    """A link the model accepts, with any values of every attribute type."""
    attributes: dict[str, object] = draw(everyType)
    attributes["occi.core.id"] = draw(ids)
    attributes[SOURCE] = source
    attributes[TARGET] = draw(st.sampled_from(["/network/", "/storage/", "urn:uuid:",
                                               "http://elsewhere.example/x/"])) + draw(ids)
    if draw(st.booleans()):
        attributes[TARGET_KIND] = draw(st.sampled_from([infra.NETWORK, infra.STORAGE])).identifier
    kind = draw(st.sampled_from([infra.NETWORKINTERFACE, infra.STORAGELINK, LINK]))
    mixins: tuple[Mixin, ...] = (EVERYTHING,)
    if kind is infra.NETWORKINTERFACE:
        mixins += draw(st.sampled_from([(), (infra.IPNETWORKINTERFACE,)]))
        attributes["occi.networkinterface.interface"] = draw(st.sampled_from(["eth0", "e 1"]))
    elif kind is infra.STORAGELINK:
        attributes["occi.storagelink.deviceid"] = draw(st.sampled_from(["vda", "2", "true"]))
    return newEntity(Description(kind=kind, mixins=mixins, attributes=attributes))


@st.composite
def modelViews(draw: st.DrawFn) -> EntityView:
    """A resource with its links, or a link alone."""
    resource = draw(modelResources())
    if draw(st.integers(0, 3)) == 0:
        return EntityView(draw(modelLinks(resource.location)))
    return EntityView(resource, draw(st.lists(modelLinks(resource.location), max_size=2)))


def dottedNames(segments: int = 2) -> st.SearchStrategy[str]:
    """Attribute names of at least ``segments`` dotted parts, none of OCCI Core (whose
    members some renderings write apart)."""
    segment = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
    return st.builds(".".join, st.lists(segment, min_size=segments, max_size=4)).filter(
        lambda name: not name.startswith("occi.core."))


@st.composite
def anyEntities(draw: st.DrawFn, values: st.SearchStrategy[object], link: bool,
                names: st.SearchStrategy[str] | None = None) -> Entity:
    """Entities with any attributes at all (not only what the model defines), their names
    drawn from ``names`` (by default :func:`dottedNames`) and their values from ``values``."""
    if names is None:
        names = dottedNames()
    attributes: dict[str, Any] = draw(st.dictionaries(names, values, max_size=6))
    attributes["occi.core.id"] = draw(ids)
    if link:
        attributes[SOURCE] = "/compute/" + draw(ids)
        attributes[TARGET] = draw(st.sampled_from(["/network/", "urn:uuid:", "http://x/"]))
        attributes[TARGET] += draw(ids)
        if draw(st.booleans()):
            attributes[TARGET_KIND] = infra.NETWORK.identifier
        return Entity(kind=draw(st.sampled_from([LINK, infra.NETWORKINTERFACE, infra.STORAGELINK])),
                      mixins=draw(st.sampled_from([(), (infra.IPNETWORKINTERFACE,)])),
                      attributes=attributes)
    kinds = [infra.COMPUTE, infra.NETWORK, infra.STORAGE, RESOURCE]
    mixins = [(), (infra.MEDIUM,), (infra.MEDIUM, infra.UBUNTU)]
    return Entity(kind=draw(st.sampled_from(kinds)), mixins=draw(st.sampled_from(mixins)),
                  attributes=attributes)


# -- documents, as clients write them (what the descriptor and its XML form carry) ----------

terms = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}", fullmatch=True)
_uriChars = st.text(alphabet="abcXYZ019:/?&=+%@!$'()*._~-[]#,;\u00e9", min_size=1, max_size=20)
uris = st.builds(lambda a, b: a + b, st.sampled_from(["http://h/", "/", "urn:x:", ""]),
                 _uriChars)
schemes = st.builds(lambda u: u + "#", _uriChars)
identifiers = st.builds(lambda s, t: s + t, schemes, terms)
attributeNames = st.one_of(
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,12}", fullmatch=True),
    st.sampled_from(["kind", "mixin", "action", "category", "link", "location", "rel", "self",
                     "title", "attribute", "compute.cores", "core.id", "null", "true"]),
)
attributeValues = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(jsonValues, max_size=3),
    st.dictionaries(st.text(max_size=6), jsonValues, max_size=3),
)
attributeMaps = st.dictionaries(attributeNames, attributeValues, max_size=5)
#: A category's scheme, or none (the term alone, which the resolver looks up).
_schemeOrNone = st.one_of(schemes, st.just(""))


def documents(
    titles: st.SearchStrategy[str], *,
    schemes: st.SearchStrategy[str] = _schemeOrNone,
    uris: st.SearchStrategy[str] = uris,
    identifiers: st.SearchStrategy[str] = identifiers,
    names: st.SearchStrategy[str] = attributeNames,
    attributes: st.SearchStrategy[dict[str, object]] = attributeMaps,
    linkAttributes: st.SearchStrategy[dict[str, object]] | None = None,
    locations: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Document]:
    """Documents as clients write them, category titles drawn from ``titles``; a rendering
    that carries less narrows the parts (``linkAttributes`` and ``locations`` default to
    ``attributes`` and ``uris``)."""
    identifierTuples = st.lists(identifiers, max_size=3).map(tuple)
    categories = st.builds(
        CategoryRef,
        scheme=schemes,
        term=terms,
        cls=st.sampled_from([None, "kind", "mixin", "action"]),
        title=st.one_of(st.none(), titles),
        location=st.one_of(st.none(), uris),
        rel=identifierTuples,
        attributes=st.lists(st.builds(CategoryRef.Attribute, names, mutable=st.booleans(),
                                      required=st.booleans()), max_size=3).map(tuple),
        actions=identifierTuples,
    )
    links = st.builds(
        LinkRef,
        target=uris,
        rel=identifierTuples,
        location=st.one_of(st.none(), uris),
        categories=identifierTuples,
        attributes=attributes if linkAttributes is None else linkAttributes,
    )
    return st.builds(
        Document,
        categories=st.lists(categories, max_size=3).map(tuple),
        attributes=attributes,
        links=st.lists(links, max_size=3).map(tuple),
        locations=st.lists(uris if locations is None else locations, max_size=3).map(tuple),
    )
