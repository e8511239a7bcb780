"""The subcommands of ``occi``: each reads its arguments, talks to the server in its JSON
rendering, and prints a table (or, with ``--json``, the server's JSON)."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from twisted.internet.defer import CancelledError

from ..model.locations import QUERY, logOf
from ..renderings.document import CategoryRef, Document
from . import output
from .categories import Categories, attributeValues
from .errors import ClientError, XMPPUnavailable
from .following import RequestState, follow, unavailable
from .notices import Notices, Subscription, nodeOf
from .progress import ProgressView
from .session import JSON, Session
from .transfers import OCTET, OVA, download, upload

_TITLE, _ID = "occi.core.title", "occi.core.id"


@dataclass
class Context:
    """What every command works with: the session, the server's categories (asked for once,
    when first needed), how to print, and the reactor (for Ctrl-C and standard input)."""

    session: Session
    reactor: Any
    asJSON: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    #: Events over XMPP, when an account is configured.
    notices: Notices | None = None
    _categories: Categories | None = None

    async def categories(self) -> Categories:
        if self._categories is None:
            self._categories = Categories.fromDocument(await self.session.json(QUERY))
        return self._categories

    def view(self, label: str, interval: float = 0.0) -> ProgressView:
        """A progress view on standard output: a bar on a terminal, else plain lines (on
        standard error with ``--json``, which keeps standard output for the JSON)."""
        stream = sys.stderr if self.asJSON else self.out
        return ProgressView(stream, label, terminal=stream.isatty(), interval=interval)

    def transferView(self, label: str) -> ProgressView:
        out = sys.stderr if self.asJSON else self.out
        return self.view(label, interval=0.2 if out.isatty() else 1.0)

    async def locationOf(self, document: Document) -> str:
        """Where an entity of a collection listing lives: its kind's collection + its id."""
        categories = await self.categories()
        for ref in document.categories:
            known = categories.byIdentifier(ref.identifier) if ref.cls == "kind" else None
            if known is not None and known.location:
                return urlsplit(known.location).path + str(document.attributes.get(_ID, ""))
        return str(document.attributes.get(_ID, ""))


Command = Callable[[Context, Namespace], Coroutine[Any, Any, None]]


async def listCommand(context: Context, args: Namespace) -> None:
    """``list KIND``: the entities of a kind's (or a mixin's) collection, every page."""
    entities, bodies = await collection(context, args.kind)
    if context.asJSON:
        output.emit(bodies)
        return
    rows = []
    for entity in entities:
        state = next((value for name, value in entity.attributes.items()
                      if name.endswith(".state") and name.count(".") == 2), None)
        rows.append((await context.locationOf(entity), entity.attributes.get(_TITLE), state))
    output.table(("LOCATION", "TITLE", "STATE"), rows, context.out)


async def collection(context: Context, name: str) -> tuple[list[Document], list[object]]:
    """Every entity in the collection of the kind or mixin ``name``, following ``next``
    links; as documents, and as the server's JSON objects."""
    where = (await context.categories()).collection(name).location
    if not where:
        raise ClientError(f"{name} has no collection on this server")
    entities: list[Document] = []
    bodies: list[object] = []
    url: str | None = where
    while url:
        answer = await context.session.call("GET", url)
        entities.extend(answer.document().entities)
        page = output.raw(answer.body)
        if isinstance(page, dict):
            bodies.extend([*page.get("resources", []), *page.get("links", [])])
        following = answer.links("next")
        url = context.session.connection.url(following[0]) if following else None
    return entities, bodies


async def show(context: Context, args: Namespace) -> None:
    """``show URL``: one entity (or request), all of it."""
    answer = await context.session.call("GET", args.url)
    if context.asJSON:
        output.emit(output.raw(answer.body))
        return
    output.describe(answer.document(), urlsplit(answer.url).path, context.out)


async def create(context: Context, args: Namespace) -> None:
    """``create KIND key=value… [--mixin M]``: a new entity; prints its location."""
    categories = await context.categories()
    kind = categories.kind(args.kind)
    mixins = [categories.mixin(name) for name in args.mixin or ()]
    values = attributeValues(args.attributes, categories.definitions([kind, *mixins]))
    body: dict[str, object] = {"kind": kind.identifier, "attributes": values}
    if mixins:
        body["mixins"] = [mixin.identifier for mixin in mixins]
    await posted(context, kind, body)


async def posted(context: Context, kind: CategoryRef, body: dict[str, object]) -> None:
    """POST ``body`` (GFD.225 JSON) to ``kind``'s collection; prints the new location."""
    if not kind.location:
        raise ClientError(f"{kind.identifier} cannot be instantiated")
    answer = await context.session.call("POST", kind.location, body=_json(body),
                                        headers={"Content-Type": JSON}, expect=(200, 201))
    location = answer.header("location") or answer.url
    if context.asJSON:
        output.emit({"location": location, "entity": output.raw(answer.body)})
    else:
        context.out.write(location + "\n")


async def update(context: Context, args: Namespace) -> None:
    """``update URL key=value…``: change the attributes given, keep the others."""
    categories = await context.categories()
    current = await context.session.json(args.url)
    refs = [known for ref in current.categories
            if (known := categories.byIdentifier(ref.identifier)) is not None]
    values = attributeValues(args.attributes, categories.definitions(refs))
    answer = await context.session.call("POST", args.url, body=_json({"attributes": values}),
                                        headers={"Content-Type": JSON})
    if context.asJSON:
        output.emit(output.raw(answer.body))
    else:
        output.describe(answer.document(), urlsplit(answer.url).path, context.out)


async def delete(context: Context, args: Namespace) -> None:
    """``delete URL``."""
    answer = await context.session.call("DELETE", args.url)
    if context.asJSON:
        output.emit({"deleted": answer.url})
    else:
        context.out.write(f"deleted {answer.url}\n")


async def action(context: Context, args: Namespace) -> None:
    """``action URL NAME [key=value…] [--wait | --follow]``: trigger an action; without a
    flag the server waits a moment, with ``--wait`` until the request ends, with
    ``--follow`` the same while showing its progress."""
    categories = await context.categories()
    entity = await context.session.call("GET", args.url)
    chosen = categories.action(args.name, output.actions(entity.body))
    values = attributeValues(args.attributes, categories.definitions([chosen]))
    prefer = {"follow": "respond-async", "wait": "wait=60"}.get(args.mode or "")
    url = context.session.connection.url(args.url)
    answer = await context.session.call(
        "POST", f"{url}?action={chosen.term}", expect=(200, 201, 202),
        body=_json({"action": chosen.identifier, "attributes": values}),
        headers={"Content-Type": JSON, **({"Prefer": prefer} if prefer else {})})
    if answer.code != 202:
        if context.asJSON:
            output.emit(output.raw(answer.body))
        else:
            output.describe(answer.document(), urlsplit(url).path, context.out)
        return
    request = context.session.connection.url(answer.header("location") or "")
    if not args.mode:
        if context.asJSON:
            output.emit(output.raw(answer.body))
        else:
            context.out.write(f"{request}\n")
        return
    await _followed(context, request, show=args.mode == "follow")


async def followCommand(context: Context, args: Namespace) -> None:
    """``follow REQUEST_URL``: show a request's progress until it ends."""
    await _followed(context, args.url, show=True)


async def _followed(context: Context, url: str, *, show: bool) -> None:
    def makeView(state: RequestState) -> ProgressView:
        return context.view(state.action)

    final = await follow(context.session, url, makeView if show else None, context.reactor,
                         context.notices)
    if context.asJSON:
        output.emit(output.raw(final.answer.body))
    elif final.message:
        context.out.write(final.message + "\n")
    if final.state != "succeeded":
        raise ClientError(f"{final.action} {final.state}: {final.message or url}")


async def downloadCommand(context: Context, args: Namespace) -> None:
    """``download STORAGE FILE``: the image, resumed if FILE holds its beginning."""
    await _saved(context, args.url, Path(args.file), OCTET)


async def exportOVA(context: Context, args: Namespace) -> None:
    """``export-ova COMPUTE FILE``: the compute with its disks as an OVA archive."""
    await _saved(context, args.url, Path(args.file), OVA)


async def _saved(context: Context, url: str, target: Path, mediaType: str) -> None:
    written = await download(context.session, url, target, mediaType, context.transferView)
    size = target.stat().st_size
    if context.asJSON:
        output.emit({"file": str(target), "bytes": size, "written": written})
    else:
        context.out.write(f"{target}: {size} bytes" +
                          (f" ({written} this time)" if written != size else "") + "\n")


async def uploadCommand(context: Context, args: Namespace) -> None:
    """``upload FILE STORAGE``: FILE becomes the storage's image."""
    source = Path(args.file)
    if not source.is_file():
        raise ClientError(f"{source} is not a readable file")
    said = await upload(context.session, source, args.url, context.transferView)
    if context.asJSON:
        output.emit({"file": str(source), "bytes": source.stat().st_size, "server": said})
    else:
        context.out.write(said + "\n")


async def events(context: Context, args: Namespace) -> None:
    """``events [URL]``: the newest changes (of everything, or of what is at URL), oldest
    first; with XMPP, then each new one as it happens, until Ctrl-C."""
    path = urlsplit(context.session.connection.url(args.url or "/")).path
    subscription = await _subscribed(context, nodeOf(path))
    try:
        answer = await context.session.call("GET", f"{logOf(path)}?number={args.number}",
                                            accept="application/json")
        found = output.raw(answer.body)
        entries = [entry for entry in reversed(found.get("entries", []))
                   if isinstance(entry, dict)] if isinstance(found, dict) else []
        if subscription is None and context.asJSON:
            output.emit(list(reversed(entries)))
        elif context.asJSON:  # a stream: JSON lines
            for entry in entries:
                context.out.write(json.dumps(entry) + "\n")
        else:
            output.table(("UPDATED", "EVENT", "TITLE"), [
                (entry.get("updated"), entry.get("type"), entry.get("title"))
                for entry in entries], context.out)
        if subscription is not None:
            await _streamed(context, subscription, path, {entry.get("id") for entry in entries})
    finally:
        if subscription is not None:
            await subscription.close()


async def _subscribed(context: Context, node: str) -> Subscription | None:
    if context.notices is None:
        return None
    try:
        return await context.notices.subscribe(node)
    except XMPPUnavailable as failed:
        unavailable(failed, "the newest only")
        return None


async def _streamed(context: Context, subscription: Subscription, path: str,
                    shown: set[object]) -> None:
    """Each notice of ``path`` as a line, until Ctrl-C (or XMPP fails)."""
    context.out.flush()
    try:
        while True:
            notice = await subscription.next()
            if notice.id in shown or (nodeOf(path) != path and notice.aboutPath != path):
                continue
            context.out.write((notice.asJSON() if context.asJSON else notice.line()) + "\n")
            context.out.flush()
    except CancelledError:  # Ctrl-C: the end of a stream, not a failure
        return
    except XMPPUnavailable as failed:
        raise ClientError(f"no more events over XMPP: {failed}") from None


def _json(value: object) -> bytes:
    return json.dumps(value).encode("utf-8")


COMMANDS: dict[str, Command] = {
    "list": listCommand, "show": show, "create": create, "update": update,
    "delete": delete, "action": action, "follow": followCommand,
    "download": downloadCommand, "upload": uploadCommand, "export-ova": exportOVA,
    "events": events,
}
