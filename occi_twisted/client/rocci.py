"""rOCCI-cli's command line, so that its users' scripts keep working:

    occi --endpoint URL --action list --resource compute --auth basic --username U --password P
    occi -e URL -a create -r compute -M resource_tpl#small -t title="My VM" -o json

The flags, their short forms and their values are those of rOCCI-cli's ``occi --help``,
manual page and README (``lib/occi/cli/occi_opts.rb``, ``doc/occi.1``): ``--attribute``
and ``--mixin`` take comma-separated lists and may be repeated; an attribute without a dot
is found among those the category defines (``title`` is ``occi.core.title``, as rOCCI-cli
reads it; ``method`` an action's own); ``num()``, ``float()`` and ``bool()`` cast a value;
``--output-format plain`` prints locations one a line where rOCCI-cli does.  Authentication
``basic`` and ``none`` are supported; ``x509`` and ``digest`` are refused as a usage error,
as are the flags of features this server does not have (VOMS, context variables).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from urllib.parse import urlsplit

from .. import __version__
from ..model.locations import QUERY
from ..renderings.document import CategoryRef
from . import output
from .categories import Categories, attributeValues
from .commands import Context, action, collection, create, delete, posted, show
from .errors import ClientError, UsageError

ACTIONS = ("list", "describe", "create", "delete", "trigger", "link", "unlink")
AUTH = ("x509", "basic", "digest", "none")
FORMATS = ("plain", "json", "json_pretty", "json_extended", "json_extended_pretty")
MEDIA_TYPES = ("application/occi+json", "application/occi+xml", "text/plain,text/occi",
               "text/plain", "text/occi")
#: The kind of link that joins a compute to a target of each kind.
_LINK_KINDS = {"network": "networkinterface", "storage": "storagelink"}


def isRocci(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is written the rOCCI-cli way: an ``--action`` (or ``--dump-model``)
    flag rather than a subcommand."""
    flags = ("-a", "--action", "-m", "--dump-model")
    return any(arg in flags or arg.startswith("--action=") for arg in argv)


def parser() -> argparse.ArgumentParser:
    rocci = argparse.ArgumentParser(prog="occi", allow_abbrev=False, description=(
        "rOCCI-cli's flags (see 'occi --help' for this client's own subcommands)."))
    add = rocci.add_argument
    add("-e", "--endpoint")
    add("-n", "--auth", choices=AUTH)
    add("-u", "--username")
    add("-p", "--password")
    add("-c", "--ca-path", help="a directory of PEM CA certificates (uses the *.pem in it)")
    add("-f", "--ca-file")
    add("-r", "--resource")
    add("-t", "--attribute", "--attributes", dest="attribute", action="append", default=[])
    add("-a", "--action", choices=ACTIONS)
    add("-M", "--mixin", action="append", default=[])
    add("-j", "--link", action="append", default=[])
    add("-g", "--trigger-action")
    add("-o", "--output-format", choices=FORMATS, default="plain")
    add("-y", "--media-type", choices=MEDIA_TYPES, help="accepted; JSON is always spoken")
    add("-k", "--timeout", type=float, help="accepted, not used")
    add("-l", "--log-to", choices=("stdout", "stderr"))
    add("-b", "--log-level", choices=("debug", "error", "fatal", "info", "unknown", "warn"))
    add("-d", "--debug", action="store_true")
    add("-m", "--dump-model", action="store_true")
    add("-v", "--version", action="version", version=f"occi {__version__}")
    return rocci


def parse(argv: Sequence[str]) -> argparse.Namespace:
    args = parser().parse_args(list(argv))
    if args.auth in ("x509", "digest"):
        raise UsageError(f"--auth {args.auth} is not supported: use --auth basic")
    if args.dump_model:
        return args
    if not args.action or not args.resource:
        raise UsageError("rOCCI-cli's form needs --action and --resource")
    if args.action == "trigger" and not args.trigger_action:
        raise UsageError("--action trigger needs --trigger-action")
    if args.action == "link" and not args.link:
        raise UsageError("--action link needs --link")
    args.attribute = [pair for item in args.attribute for pair in item.split(",")]
    args.mixin = [name for item in args.mixin for name in item.split(",")]
    args.link = [name for item in args.link for name in item.split(",")]
    return args


def _isLocation(resource: str) -> bool:
    return resource.startswith("/") or ("://" in resource and "#" not in resource)


async def run(context: Context, args: argparse.Namespace) -> None:
    """Carry out rOCCI-cli's ``--action`` on ``--resource``."""
    if args.dump_model:
        await _dumpModel(context)
        return
    resource: str = args.resource
    if args.action == "trigger":
        await action(context, argparse.Namespace(
            url=resource, name=args.trigger_action, attributes=args.attribute, mode=None))
    elif args.action == "create":
        await create(context, argparse.Namespace(kind=resource, attributes=args.attribute,
                                                 mixin=args.mixin))
    elif args.action in ("delete", "unlink"):
        where = resource if _isLocation(resource) else await _collectionOf(context, resource)
        await delete(context, argparse.Namespace(url=where))
    elif args.action == "link":
        await _link(context, resource, args.link, args.attribute)
    elif _isLocation(resource):
        await show(context, argparse.Namespace(url=resource))
    elif args.action == "list":
        await _list(context, resource)
    else:
        await _describe(context, resource)


async def _collectionOf(context: Context, name: str) -> str:
    location = (await context.categories()).kind(name).location
    if not location:
        raise ClientError(f"{name} has no collection on this server")
    return location


async def _list(context: Context, resource: str) -> None:
    """Locations of a kind's entities; or, for ``os_tpl`` and ``resource_tpl``, the
    templates' identifiers."""
    categories = await context.categories()
    templates = _templates(categories, resource)
    if templates is not None:
        found = [ref.identifier for ref in templates]
    else:
        entities, _ = await collection(context, resource)
        found = [context.session.connection.url(await context.locationOf(entity))
                 for entity in entities]
    if context.asJSON:
        output.emit(found)
    else:
        context.out.write("".join(line + "\n" for line in found))


async def _describe(context: Context, resource: str) -> None:
    """A kind's entities in full, or the templates (mixins) named."""
    categories = await context.categories()
    templates = _templates(categories, resource)
    if templates is None and "#" in resource:
        templates = (categories.mixin(resource),)
    if templates is not None:
        for ref in templates:
            if context.asJSON:
                output.emit({"term": ref.term, "scheme": ref.scheme, "title": ref.title,
                             "location": ref.location, "depends": list(ref.rel)})
            else:
                output.pairs([("mixin", ref.identifier), ("title", ref.title),
                              ("location", ref.location)], context.out)
                context.out.write("\n")
        return
    entities, bodies = await collection(context, resource)
    if context.asJSON:
        output.emit(bodies)
        return
    for entity in entities:
        location = context.session.connection.url(await context.locationOf(entity))
        output.describe(entity, urlsplit(location).path, context.out)
        context.out.write("\n")


def _templates(categories: Categories, resource: str) -> tuple[CategoryRef, ...] | None:
    """The mixins that depend on ``resource`` when it names a mixin with dependants
    (``os_tpl``), else None."""
    if "#" in resource:
        return None
    try:
        found = categories.templatesOf(resource)
    except ClientError:
        return None
    return found or None


async def _link(context: Context, source: str, targets: list[str],
                attributes: list[str]) -> None:
    """Link the resource to each target: a network by an interface, a storage by a storage
    link; prints each link's location."""
    categories = await context.categories()
    for target in targets:
        kind = categories.kindAt(target)
        linkKind = categories.kind(_LINK_KINDS[kind.term]) if kind is not None and \
            kind.term in _LINK_KINDS else None
        if kind is None or linkKind is None:
            raise ClientError(f"{target} is neither a network nor a storage")
        values = attributeValues(attributes, categories.definitions([linkKind]))
        body: dict[str, object] = {
                "kind": linkKind.identifier, "attributes": values,
                "source": {"location": urlsplit(context.session.connection.url(source)).path},
                "target": {"location": urlsplit(context.session.connection.url(target)).path,
                           "kind": kind.identifier}}
        await posted(context, linkKind, body)


async def _dumpModel(context: Context) -> None:
    answer = await context.session.call("GET", QUERY)
    if context.asJSON:
        output.emit(output.raw(answer.body))
        return
    categories = await context.categories()
    output.table(("CLASS", "IDENTIFIER", "TITLE"),
                 [(cls, ref.identifier, ref.title)
                  for cls, refs in (("kind", categories.kinds), ("mixin", categories.mixins),
                                    ("action", categories.actions)) for ref in refs],
                 context.out)
