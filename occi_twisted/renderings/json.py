"""The OCCI JSON rendering (GFD.225): ``application/occi+json`` and ``application/json``.

Shapes, as GFD.225 declares them (its appendix schema is the reference):

* resource ``{"kind", "mixins", "attributes", "actions", "id", "links", "summary", "title"}``
  with its links rendered in full inside ``links``;
* link ``{"kind", "mixins", "attributes", "actions", "id", "source", "target", "title"}``
  where ``source`` and ``target`` are ``{"location", "kind"}``;
* action invocation ``{"action", "attributes"}``;
* a category alone ``{"term", "scheme", ...}`` (Appendix A.5's mixin), as the query
  interface takes it;
* entity collection ``{"resources": [...], "links": [...]}``;
* category collection (the query interface) ``{"kinds": [...], "mixins": [...],
  "actions": [...]}`` with attribute descriptions ``{"mutable", "required", "type",
  "pattern", "default", "description"}`` where ``pattern`` is a JSON Schema;
* a list of locations is a JSON array of URIs (GFD.225 defines none; this is what rOCCI
  writes and reads).

The members ``id``, ``title``, ``summary``, ``source`` and ``target`` are the attributes
``occi.core.id``, ``.title``, ``.summary``, ``.source``, ``.target`` (and ``target.kind``) of
OCCI Core; the parser folds them into :attr:`Document.attributes` so that every rendering
yields the same attribute names, and the renderer takes them out again.

Parsing is strict about shapes (an unknown member is most likely a typo, and silently
ignoring it would lose what the client meant) and says what is wrong in one sentence, naming
the member by its path.  It never raises anything but
:class:`~occi_twisted.model.errors.BadRequest`, whatever the bytes.

Rendering is on the hot path: it builds plain dicts and hands them to the C encoder once.
Output is ASCII (non-ASCII escaped), which is valid UTF-8 and survives any string the model
holds.
"""

from __future__ import annotations

import json as stdjson
from collections.abc import Mapping, Sequence
from typing import NoReturn

from ..model import Action, AttributeDefinition, Category, Entity, Kind, Mixin
from ..model.errors import BadRequest
from .document import CategoryRef, Document, EntityView, LinkRef, RenderContext, Rendered
from .limits import MAX_DEPTH, MAX_DIGITS, MAX_NAME
from .values import (
    ATTRIBUTE_NAME,
    SURROGATE,
    ByCategories,
    Refusals,
    Refused,
    Unfit,
    bodyText,
    show,
    strictDecoder,
    unfit,
)

MEDIA_TYPE = "application/occi+json"
PLAIN_JSON = "application/json"

JSON_SCHEMA = "http://json-schema.org/draft-04/schema#"

_ID, _TITLE, _SUMMARY = "occi.core.id", "occi.core.title", "occi.core.summary"
_SOURCE, _TARGET, _TARGET_KIND = "occi.core.source", "occi.core.target", "occi.core.target.kind"
#: Attributes that are members of their own in a resource, not inside ``attributes``.
_RESOURCE_MEMBERS = frozenset({_ID, _TITLE, _SUMMARY})
_LINK_MEMBERS = frozenset({_ID, _TITLE, _SOURCE, _TARGET, _TARGET_KIND})

_RESOURCE_KEYS = frozenset(
    {"kind", "mixins", "attributes", "actions", "id", "links", "summary", "title"}
)
_LINK_KEYS = frozenset(
    {"kind", "mixins", "attributes", "actions", "id", "source", "target", "rel", "title"}
)
_INVOCATION_KEYS = frozenset({"action", "attributes"})
_COLLECTION_KEYS = frozenset({"resources", "links", "kinds", "mixins", "actions"})
_KIND_KEYS = frozenset({"term", "scheme", "title", "attributes", "actions", "parent", "location"})
_MIXIN_KEYS = frozenset(
    {"term", "scheme", "title", "attributes", "actions", "depends", "applies", "location"}
)
_ACTION_KEYS = frozenset({"term", "scheme", "title", "attributes"})
_KINDED_URI_KEYS = frozenset({"location", "kind"})
_DESCRIPTION_KEYS = frozenset(
    {"mutable", "required", "type", "pattern", "default", "description"}
)


# -- parsing ------------------------------------------------------------------------------


_DECODER = strictDecoder(Refusals(
    duplicate="The JSON body has the member {} twice in one object.",
    digits=f"A number in the JSON body has more than {MAX_DIGITS} digits.",
    large="The number {} in the JSON body is too large.",
    constant="{} is not a JSON value.",
))
_EMPTY = object()


def _load(body: bytes) -> object:
    """The JSON value of ``body``, or BadRequest saying why there is none."""
    text = bodyText(body, "The JSON body")
    if not text.strip():
        return _EMPTY
    try:
        return _DECODER.decode(text)
    except Refused as refused:
        raise BadRequest(str(refused)) from None
    except stdjson.JSONDecodeError as error:
        raise BadRequest(
            f"The body is not valid JSON: {error.msg.lower()} at line {error.lineno}, "
            f"column {error.colno}."
        ) from None
    except RecursionError:
        raise BadRequest("The JSON body is nested too deeply.") from None


def parse(body: bytes, headers: Mapping[str, Sequence[str]] | None = None) -> Document:
    """Read any GFD.225 request body: an entity, an action invocation, an entity or
    category collection, or a list of locations.  An empty body is an empty document."""
    value = _load(body)
    if value is _EMPTY:
        return Document()
    if isinstance(value, list):
        return Document(locations=_locations(value, "the location list"))
    if not isinstance(value, dict):
        raise BadRequest(
            f"The JSON body must be an object or an array of locations, not {_typeOf(value)}."
        )
    if "action" in value:
        return _invocation(value)
    if value and value.keys() <= _COLLECTION_KEYS and not _namesCategories(value):
        return _collection(value)
    if "term" in value:
        return Document(categories=(_bareCategory(value),))
    return _entity(value, "")


def _bareCategory(value: dict[str, object]) -> CategoryRef:
    """One category rendered alone, as GFD.225 Appendix A.5 prints a mixin: what the query
    interface takes as "a full category instance rendering" (GFD.223), besides a category
    collection.  No entity has a ``term``.  The three classes share their members but for
    ``parent`` (a kind's) and ``depends``/``applies``/``location`` (a mixin's), and only
    mixins are defined by clients, so a category that does not show itself a kind is read
    as a mixin; the query interface then says what it thinks of a kind."""
    if "parent" in value:
        return _kind(value, "")
    return _mixin(value, "")


def _namesCategories(value: dict[str, object]) -> bool:
    """Whether ``mixins``/``actions`` hold identifiers (an entity) rather than definitions.

    ``{"mixins": ["…#small"]}`` adds a mixin to an entity; ``{"mixins": [{"term": …}]}``
    defines one.
    """
    for key in ("mixins", "actions"):
        items = value.get(key)
        if isinstance(items, list) and any(isinstance(item, str) for item in items):
            return True
    return False


def _invocation(value: dict[str, object]) -> Document:
    _onlyKeys(value, _INVOCATION_KEYS, "", "an action invocation")
    action = _ref(value["action"], "action", "action")
    return Document(action=action, attributes=_attributes(value.get("attributes"), "attributes"))


def _collection(value: dict[str, object]) -> Document:
    entities: list[Document] = []
    for key in ("resources", "links"):
        for index, item in enumerate(_array(value.get(key, []), key)):
            found = _object(item, f"{key}[{index}]")
            entities.append(_entity(found, f"{key}[{index}].", link=key == "links" or None))
    categories: list[CategoryRef] = []
    for index, item in enumerate(_array(value.get("kinds", []), "kinds")):
        categories.append(_kind(_object(item, f"kinds[{index}]"), f"kinds[{index}]."))
    for index, item in enumerate(_array(value.get("mixins", []), "mixins")):
        categories.append(_mixin(_object(item, f"mixins[{index}]"), f"mixins[{index}]."))
    for index, item in enumerate(_array(value.get("actions", []), "actions")):
        categories.append(_action(_object(item, f"actions[{index}]"), f"actions[{index}]."))
    return Document(categories=tuple(categories), entities=tuple(entities))


def _entity(value: dict[str, object], where: str, link: bool | None = None) -> Document:
    """A resource, or a link: as ``link`` says, else if it has a source or a target."""
    if link is None:
        link = "source" in value or "target" in value
    if link:
        _onlyKeys(value, _LINK_KEYS, where, "a link")
        categories, attributes = _entityParts(value, where)
        _linkEnds(value, attributes, where)
        return Document(categories=categories, attributes=attributes)
    _onlyKeys(value, _RESOURCE_KEYS, where, "a resource")
    categories, attributes = _entityParts(value, where)
    links = tuple(
        _inlineLink(_object(item, f"{where}links[{index}]"), f"{where}links[{index}].")
        for index, item in enumerate(_array(value.get("links", []), where + "links"))
    )
    return Document(categories=categories, attributes=attributes, links=links)


def _inlineLink(value: dict[str, object], where: str) -> LinkRef:
    _onlyKeys(value, _LINK_KEYS, where, "a link")
    categories, attributes = _entityParts(value, where)
    _linkEnds(value, attributes, where)
    target = str(attributes.pop(_TARGET))
    targetKind = attributes.pop(_TARGET_KIND, None)
    return LinkRef(
        target=target,
        rel=(str(targetKind),) if targetKind is not None else (),
        categories=tuple(ref.identifier for ref in categories),
        attributes=attributes,
    )


def _entityParts(
    value: dict[str, object], where: str
) -> tuple[tuple[CategoryRef, ...], dict[str, object]]:
    categories: list[CategoryRef] = []
    if "kind" in value:
        categories.append(_ref(value["kind"], where + "kind", "kind"))
    for index, item in enumerate(_array(value.get("mixins", []), where + "mixins")):
        categories.append(_ref(item, f"{where}mixins[{index}]", "mixin"))
    # The actions an entity offers are the server's to say; a client's copy is informative.
    _identifiers(value.get("actions", []), where + "actions")
    attributes = _attributes(value.get("attributes"), where + "attributes")
    for member, name in (("id", _ID), ("title", _TITLE), ("summary", _SUMMARY)):
        if member in value:
            _merge(attributes, name, _string(value[member], where + member), where + member)
    return tuple(categories), attributes


def _linkEnds(value: dict[str, object], attributes: dict[str, object], where: str) -> None:
    """Fold ``source`` and ``target`` (and the target's kind) into the Core attributes."""
    if "target" not in value:
        raise BadRequest(f"The JSON member {where}target is missing: a link needs a target.")
    if "source" in value:
        location, _kind = _kindedURI(value["source"], where + "source")
        # The source's kind is implied by the source itself (GFD.225 section 3.1.2).
        _merge(attributes, _SOURCE, location, where + "source")
    location, kind = _kindedURI(value["target"], where + "target")
    _merge(attributes, _TARGET, location, where + "target")
    if kind is None and "rel" in value:
        kind = _identifier(value["rel"], where + "rel")
    if kind is None and _TARGET_KIND in attributes:
        kind = _identifier(attributes[_TARGET_KIND], f"{where}attributes[{_TARGET_KIND!r}]")
    if kind is not None:
        _merge(attributes, _TARGET_KIND, kind, where + "target.kind")


def _kindedURI(value: object, where: str) -> tuple[str, str | None]:
    if isinstance(value, str):
        # OCCI 1.1-era clients write the location alone; nothing is lost by accepting it.
        return _location(value, where), None
    found = _object(value, where)
    _onlyKeys(found, _KINDED_URI_KEYS, where + ".", "a link end")
    if "location" not in found:
        raise BadRequest(f"The JSON member {where}.location is missing.")
    location = _location(found["location"], where + ".location")
    kind = _identifier(found["kind"], where + ".kind") if "kind" in found else None
    return location, kind


def _merge(attributes: dict[str, object], name: str, value: object, where: str) -> None:
    if name in attributes and attributes[name] != value:
        raise BadRequest(
            f"The JSON member {where} and the attribute {name} disagree; give one of them."
        )
    attributes[name] = value


def _kind(value: dict[str, object], where: str) -> CategoryRef:
    _onlyKeys(value, _KIND_KEYS, where, "a kind")
    parent = value.get("parent")
    return _category(
        value, where, "kind",
        rel=(_identifier(parent, where + "parent"),) if parent is not None else (),
    )


def _mixin(value: dict[str, object], where: str) -> CategoryRef:
    _onlyKeys(value, _MIXIN_KEYS, where, "a mixin")
    depends = _identifiers(value.get("depends", []), where + "depends")
    applies = _identifiers(value.get("applies", []), where + "applies")
    return _category(value, where, "mixin", rel=(*depends, *applies))


def _action(value: dict[str, object], where: str) -> CategoryRef:
    _onlyKeys(value, _ACTION_KEYS, where, "an action")
    return _category(value, where, "action", rel=())


def _category(
    value: dict[str, object], where: str, cls: str, rel: tuple[str, ...]
) -> CategoryRef:
    for member in ("term", "scheme"):
        if member not in value:
            raise BadRequest(f"The JSON member {where}{member} is missing: a {cls} needs one.")
    term = _string(value["term"], where + "term")
    scheme = _string(value["scheme"], where + "scheme")
    if not term or not scheme or len(term) + len(scheme) > MAX_NAME:
        raise BadRequest(f"The {cls} at {where.rstrip('.') or 'the top'} needs a term and a "
                         "scheme of sensible length.")
    title = _string(value["title"], where + "title") if "title" in value else None
    location = (
        _location(value["location"], where + "location") if "location" in value else None
    )
    names = _descriptions(value.get("attributes", {}), where + "attributes")
    actions = _identifiers(value.get("actions", []), where + "actions")
    return CategoryRef(scheme, term, cls=cls, title=title, location=location, rel=rel,
                       attributes=names, actions=actions)


def _descriptions(value: object, where: str) -> tuple[CategoryRef.Attribute, ...]:
    """Attribute descriptions (GFD.225 section 3.5.1), with its defaults for what one leaves
    out: immutable, not required."""
    found = _object(value, where)
    refs: list[CategoryRef.Attribute] = []
    for name, description in found.items():
        _attributeName(name, where)
        member = f"{where}[{show(name)}]"
        fields = _object(description, member)
        _onlyKeys(fields, _DESCRIPTION_KEYS, member + ".", "an attribute description")
        for flag in ("mutable", "required"):
            if flag in fields and not isinstance(fields[flag], bool):
                _wrongType(f"{member}.{flag}", "true or false", fields[flag])
        texts = {text: _string(fields[text], f"{member}.{text}")
                 for text in ("type", "description") if text in fields}
        pattern = None
        if "pattern" in fields:
            pattern = _object(fields["pattern"], f"{member}.pattern")
            _value(pattern, f"{member}.pattern")
        if "default" in fields:
            _value(fields["default"], f"{member}.default")
        refs.append(CategoryRef.Attribute(
            name, type=texts.get("type"), mutable=fields.get("mutable") is True,
            required=fields.get("required") is True, default=fields.get("default"),
            description=texts.get("description"), pattern=pattern))
    return tuple(refs)


def _attributes(value: object, where: str) -> dict[str, object]:
    if value is None:
        return {}
    found = _object(value, where)
    for name, item in found.items():
        _attributeName(name, where)
        _value(item, f"{where}[{show(name)}]")
    return dict(found)


def _attributeName(name: str, where: str) -> None:
    if not ATTRIBUTE_NAME.fullmatch(name):
        raise BadRequest(f"{show(name)} in the JSON member {where} is not an attribute name.")


def _value(value: object, where: str) -> None:
    """Check an attribute value: JSON-like, no null, bounded depth, valid Unicode."""
    problem = unfit(value)
    if problem is not None:
        raise BadRequest(f"The JSON member {where} {_UNFIT[problem]}")


#: What :func:`_value` says of each way a value is unfit.
_UNFIT = {
    Unfit.NESTED: f"is nested more than {MAX_DEPTH} deep.",
    Unfit.NULL: "holds null; leave an attribute out to mean no value.",
    Unfit.SURROGATE: "holds an invalid Unicode escape.",
}


def _locations(value: list[object], where: str) -> tuple[str, ...]:
    return tuple(_location(item, f"{where}[{index}]") for index, item in enumerate(value))


def _location(value: object, where: str) -> str:
    text = _string(value, where).strip()
    if not text or len(text) > MAX_NAME or any(char.isspace() for char in text):
        raise BadRequest(f"The JSON member {where} is not a location: {show(text)}.")
    return text


def _identifiers(value: object, where: str) -> tuple[str, ...]:
    return tuple(
        _identifier(item, f"{where}[{index}]") for index, item in enumerate(_array(value, where))
    )


def _identifier(value: object, where: str) -> str:
    return _ref(value, where, None).identifier


def _ref(value: object, where: str, cls: str | None) -> CategoryRef:
    """A category named by its identifier, ``scheme#term``."""
    text = _string(value, where)
    scheme, hash_, term = text.rpartition("#")
    if not hash_ or not scheme or not term or len(text) > MAX_NAME or " " in text:
        raise BadRequest(
            f"The JSON member {where} must be a category identifier (scheme#term), "
            f"not {show(text)}."
        )
    return CategoryRef(scheme + "#", term, cls=cls)


def _object(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        _wrongType(where, "an object", value)
    return value


def _array(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        _wrongType(where, "an array", value)
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        _wrongType(where, "a string", value)
    _unicode(value, where)
    return value


def _unicode(text: str, where: str) -> None:
    # JSON escapes can spell half a surrogate pair, which no encoding can write back out.
    if SURROGATE.search(text):
        raise BadRequest(f"The JSON member {where} {_UNFIT[Unfit.SURROGATE]}")


def _onlyKeys(value: dict[str, object], allowed: frozenset[str], where: str, what: str) -> None:
    unknown = value.keys() - allowed
    if unknown:
        names = ", ".join(sorted(show(key) for key in unknown))
        place = f" at {where.rstrip('.')}" if where else ""
        raise BadRequest(f"GFD.225 defines no member {names} for {what}{place}.")


def _wrongType(where: str, wanted: str, value: object) -> NoReturn:
    name = where or "the body"
    raise BadRequest(f"The JSON member {name} must be {wanted}, not {_typeOf(value)}.")


def _typeOf(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# -- rendering ----------------------------------------------------------------------------

_ENCODER = stdjson.JSONEncoder(
    ensure_ascii=True, allow_nan=False, check_circular=False, separators=(",", ":")
)


def _encode(value: object) -> bytes:
    return _ENCODER.encode(value).encode("ascii")


#: Action identifiers by the categories: computing them walks the kind's ancestry and every
#: mixin's dependencies, a third of the cost of rendering a compute.
_actions = ByCategories(lambda entity: tuple(entity.actions()))


def _entityMembers(entity: Entity, members: frozenset[str]) -> dict[str, object]:
    """What resources and links render alike.  ``mixins`` and ``actions`` are left out when
    empty: GFD.225 gives them multiplicity 0..1, and rOCCI-core's schema refuses an empty
    array (minItems 1)."""
    rendered: dict[str, object] = {"kind": entity.kind.identifier}
    if entity.mixins:
        rendered["mixins"] = [mixin.identifier for mixin in entity.mixins]
    rendered["attributes"] = {k: v for k, v in entity.attributes.items() if k not in members}
    actions = _actions(entity)
    if actions:
        rendered["actions"] = actions
    rendered["id"] = entity.id
    return rendered


def resourceObject(
    entity: Entity, links: Sequence[Entity], context: RenderContext
) -> dict[str, object]:
    """A resource as GFD.225 section 3.1.1 declares it, its links in full."""
    attributes = entity.attributes
    kind = entity.kind.identifier
    rendered = _entityMembers(entity, _RESOURCE_MEMBERS)
    if links:
        rendered["links"] = [linkObject(link, context, kind) for link in links]
    summary = attributes.get(_SUMMARY)
    if summary is not None:
        rendered["summary"] = summary
    title = attributes.get(_TITLE)
    if title is not None:
        rendered["title"] = title
    return rendered


def linkObject(
    link: Entity, context: RenderContext, sourceKind: str | None = None
) -> dict[str, object]:
    """A link as GFD.225 section 3.1.2 declares it.

    ``sourceKind`` is the kind of the source resource when the caller knows it (a link
    rendered inside its source); the link itself does not record it, so alone it is the
    context's to say.
    """
    attributes = link.attributes
    sourceLocation = str(attributes.get(_SOURCE, ""))
    source: dict[str, object] = {"location": context.absolute(sourceLocation)}
    if sourceKind is None:
        sourceKind = context.kindAt(sourceLocation)
    if sourceKind is not None:
        source["kind"] = sourceKind
    target: dict[str, object] = {"location": context.absolute(str(attributes.get(_TARGET, "")))}
    targetKind = attributes.get(_TARGET_KIND)
    if targetKind is not None:
        target["kind"] = targetKind
    rendered = _entityMembers(link, _LINK_MEMBERS)
    rendered["source"] = source
    rendered["target"] = target
    title = attributes.get(_TITLE)
    if title is not None:
        rendered["title"] = title
    return rendered


#: Whether an entity is a link, by its categories: ``Entity.isLink`` walks the ancestry
#: comparing identifiers, a microsecond per entity.
_isLink = ByCategories(lambda entity: entity.isLink)


def entityObject(view: EntityView, context: RenderContext) -> dict[str, object]:
    """A resource with its links, or a link."""
    if _isLink(view.entity):
        return linkObject(view.entity, context)
    return resourceObject(view.entity, view.links, context)


def attributeDescription(definition: AttributeDefinition) -> dict[str, object]:
    """An attribute definition as GFD.225 section 3.5.1 declares it.

    The constraints the model checks (regular expression, enumeration, bounds) go into
    ``pattern`` as the JSON Schema GFD.225 asks for.  JSON Schema patterns match anywhere in
    the string, the model's must match all of it, hence the anchors.
    """
    jsonType = definition.type.jsonType
    rendered: dict[str, object] = {
        "mutable": definition.mutable,
        "required": definition.required,
        "type": jsonType,
    }
    schema: dict[str, object] = {}
    if definition.pattern is not None:
        schema["pattern"] = f"^(?:{definition.pattern})$"
    if definition.enum:
        schema["enum"] = list(definition.enum)
    if definition.minimum is not None:
        schema["minimum"] = definition.minimum
    if definition.maximum is not None:
        schema["maximum"] = definition.maximum
    if schema:
        rendered["pattern"] = {"$schema": JSON_SCHEMA, "type": jsonType, **schema}
    if definition.default is not None:
        rendered["default"] = definition.default
    if definition.description:
        rendered["description"] = definition.description
    return rendered


def categoryObject(category: Category, context: RenderContext) -> dict[str, object]:
    """A kind, mixin or action as GFD.225 section 3.2 declares it; empty members left out."""
    rendered: dict[str, object] = {"term": category.term, "scheme": category.scheme}
    if category.title:
        rendered["title"] = category.title
    if category.attributes:
        rendered["attributes"] = {
            definition.name: attributeDescription(definition)
            for definition in category.attributes
        }
    if isinstance(category, (Kind, Mixin)):
        if category.actions:
            rendered["actions"] = [action.identifier for action in category.actions]
        if isinstance(category, Kind):
            if category.parent is not None:
                rendered["parent"] = category.parent.identifier
        else:
            if category.depends:
                rendered["depends"] = [mixin.identifier for mixin in category.depends]
            if category.applies:
                rendered["applies"] = [kind.identifier for kind in category.applies]
        if category.location:
            rendered["location"] = context.absolute(category.location)
    return rendered


class JSONRenderer:
    """Writes GFD.225 JSON, labelled with the media type the client asked for."""

    streams = True

    def __init__(self, mediaType: str = MEDIA_TYPE) -> None:
        self.mediaType = mediaType

    def _rendered(self, value: object) -> Rendered:
        return Rendered(self.mediaType, _encode(value) + b"\n")

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        return self._rendered(entityObject(view, context))

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        kinds: list[dict[str, object]] = []
        mixins: list[dict[str, object]] = []
        actions: list[dict[str, object]] = []
        for category in categories:
            if isinstance(category, Kind):
                kinds.append(categoryObject(category, context))
            elif isinstance(category, Mixin):
                mixins.append(categoryObject(category, context))
            elif isinstance(category, Action):
                actions.append(categoryObject(category, context))
        # Empty members are left out, as in entities (GFD.225: 0..1; rOCCI-core: minItems 1).
        rendered = {"kinds": kinds, "mixins": mixins, "actions": actions}
        return self._rendered({name: found for name, found in rendered.items() if found})

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        return self._rendered([context.absolute(location) for location in locations])

    def message(self, text: str, context: RenderContext) -> Rendered:
        return self._rendered({"message": text})

    def collectionStart(self, context: RenderContext) -> bytes:
        """GFD.225's ``link_collection`` when the listing holds only links, else its
        ``resource_collection`` (an empty listing keeps the one member the schema requires)."""
        return b'{"links":[' if context.linksOnly else b'{"resources":['

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        """One entity of a streamed collection.

        Resources come first, in ``resources``; the first link closes that array and opens
        ``links``, unless the listing is of links only (see
        :class:`~occi_twisted.renderings.document.Renderer` for the order the HTTP layer
        keeps).
        """
        encoded = _encode(entityObject(view, context))
        if not first:
            return b"," + encoded
        if _isLink(view.entity) and not context.linksOnly:
            return b'],"links":[' + encoded
        return encoded

    def collectionEnd(self, context: RenderContext) -> bytes:
        return b"]}\n"


#: The two labels of the one rendering: GFD.225's type, and the generic one clients also ask for.
OCCI_JSON = JSONRenderer(MEDIA_TYPE)
JSON = JSONRenderer(PLAIN_JSON)
