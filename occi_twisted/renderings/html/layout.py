"""What every page shares: the context it is rendered in, the document around its content
(head, style, navigation, footer), and the way back to the server's places."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from twisted.web.template import Tag, slot, tags

from ...model import Registry
from ...model.locations import FEED, QUERY, ROOT, TEMPLATES
from ..document import RenderContext
from .markup import NOTHING, Fragment, Markup, Memo, compiled, dashed, flattened
from .transfers import Transfers
from .words import href, uri

MEDIA_TYPE = "text/html"
#: A plain user's role, which the pages do not spell out (the model's, not imported: the
#: renderings know nothing of identity).
USER_ROLE = "user"
CONTENT_TYPE = "text/html; charset=utf-8"
DOCTYPE = b"<!DOCTYPE html>\n"
#: Between parts of a sentence, as in the footer.
DOT = " \u00b7 "


@dataclass(frozen=True)
class PageContext(RenderContext):
    """A :class:`RenderContext` with what pages need to know besides the model objects.

    ``path`` is the path that was asked for (it names the collection a listing shows, and the
    page a message leads back to); ``registry`` the server's categories, user mixins included
    (for the forms that add mixins); ``draft`` that the entity is not stored yet but a
    template's copy (``GET /templates/small``), which the page offers to create.  ``user``
    and ``role`` say who is signed in (every page shows it: with Basic credentials a browser
    shows no sign of whose they are).  ``paging`` holds the RFC 5005 links (relation,
    URL) of a listing asked for a page at a time, which the page offers as links too.
    ``transfers``: what a storage's page offers to download and upload (see
    :mod:`.transfers`), for the entity the page shows; ``shows``: what a compute's driver
    shows of it, (path, media type) of its screen and serial console (see :mod:`.screens`).
    """

    path: str | None = None
    registry: Registry | None = None
    draft: bool = False
    user: str | None = None
    role: str | None = None
    paging: tuple[tuple[str, str], ...] = ()
    transfers: Transfers | None = None
    shows: tuple[tuple[str, str], ...] = ()


def pageContext(
    context: RenderContext, *, path: str | None, registry: Registry | None, draft: bool = False,
    user: str | None = None, role: str | None = None,
) -> PageContext:
    """``context`` with what pages need; every rendering accepts the result."""
    return PageContext(context.base, path=path, registry=registry, draft=draft, user=user,
                       role=role)


@cache
def _standardRegistry() -> Registry:
    return Registry.standard()


def registryOf(context: RenderContext) -> Registry:
    if isinstance(context, PageContext) and context.registry is not None:
        return context.registry
    return _standardRegistry()


def pathOf(context: RenderContext) -> str | None:
    return context.path if isinstance(context, PageContext) else None


STYLE = """\
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;\
--accent:#0b57d0;--bg:#fff;--danger:#b3261e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;\
--soft:#151b23;--accent:#8ab4f8;--bg:#0d1117;--danger:#f28b82}}
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
header nav ul{display:flex;flex-wrap:wrap;gap:.2rem 1rem;list-style:none;margin:0;\
padding:.6rem 1rem;background:var(--soft);border-bottom:1px solid var(--line)}
main{max-width:72rem;margin:0 auto;padding:.5rem 1rem 2rem}
h1{font-size:1.6rem;margin:.8rem 0 .3rem;overflow-wrap:break-word}
h2{font-size:1.2rem;margin:1.6rem 0 .4rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1rem 0 .2rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}
th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:left;\
vertical-align:top;overflow-wrap:break-word}
thead th{background:var(--soft)}
code,.field label,th[scope=row]{font-family:ui-monospace,SFMono-Regular,monospace;font-size:.9em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.3rem 0}
dd{margin:0}
fieldset{border:1px solid var(--line);border-radius:.4rem;margin:0 0 .8rem;padding:.4rem .8rem}
legend{font-weight:600}
.field{margin:.35rem 0}
.field label{display:inline-block;min-width:16rem}
.hint{display:block;color:var(--muted);font-size:.85em}
.required{color:var(--danger);text-decoration:none}
input,select,textarea,button{font:inherit}
input[type=text],input[type=number],textarea{width:min(26rem,100%);box-sizing:border-box}
button{padding:.2rem .9rem;border:1px solid var(--line);border-radius:.3rem;\
background:var(--soft);color:var(--fg);cursor:pointer}
button.danger{border-color:var(--danger);color:var(--danger)}
.actions{display:flex;flex-wrap:wrap;gap:0 1rem}
.actions form{flex:1 1 20rem}
form.inline{display:inline;margin-left:.5rem}
.state{display:inline-block;padding:0 .6rem;border:1px solid var(--line);border-radius:1rem;\
background:var(--soft)}
.state-active,.state-online,.state-succeeded{border-color:#1a7f37}
.state-error,.state-failed{border-color:var(--danger)}
progress{width:min(26rem,100%)}
#screen{max-width:100%;height:auto;border:1px solid var(--line)}
#console-text{max-height:28rem;overflow:auto;margin:.4rem 0;padding:.5rem;font-size:.85em;\
white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);border:1px solid var(--line)}
#console-frame{width:100%;height:24rem;border:1px solid var(--line)}
.about,.muted{color:var(--muted)}
#paging ul{display:flex;gap:1rem;list-style:none;padding:0}
#signed-in{margin-left:auto;color:var(--muted)}
footer{color:var(--muted);font-size:.85em;padding:1rem;text-align:center}
"""
# A style element's content is not parsed as markup by browsers: nothing in it may need
# escaping, or the escaped form would reach the style sheet.
assert not set("&<>") & set(STYLE)


def _nav(registry: Registry) -> Tag:
    """Home, the query interface, every kind's collection, the templates and the feed; then
    who is signed in."""
    items: list[Tag | slot] = [tags.li(tags.a("Home", href=ROOT)),
             tags.li(tags.a("Query interface", href=QUERY))]
    items += [tags.li(tags.a(kind.term, href=uri(kind.location), title=kind.title))
              for kind in registry.kinds() if kind.location]
    items += [tags.li(tags.a("templates", href=TEMPLATES)),
              tags.li(tags.a("events", href=FEED)), slot("who")]
    return tags.header(tags.nav(tags.ul(items), id="nav", **dashed(aria_label="Server")))


_SIGNED_IN = compiled(tags.li("Signed in as ", tags.strong(slot("user"), id="user"),
                              slot("role"), id="signed-in"), "user", "role")
_ROLE = compiled(tags.transparent(" (", tags.span(slot("role"), id="role"), ")"), "role")


def _who(context: RenderContext) -> Markup:
    """Who is signed in: the name, and the role unless it is a plain user's (or the name
    itself, as single-user mode's ``admin`` is)."""
    if not isinstance(context, PageContext) or context.user is None:
        return NOTHING
    role = context.role
    shown = NOTHING if role in (None, USER_ROLE, context.user) else _ROLE(role=role or "")
    return _SIGNED_IN(user=context.user, role=shown)


def _document(registry: Registry) -> Tag:
    return tags.html(
        tags.head(
            tags.meta(charset="utf-8"),
            tags.meta(name="viewport", content="width=device-width, initial-scale=1"),
            # Light or dark as the reader's system is; said here rather than in the style
            # sheet, where HTML validators' CSS checkers do not know the property yet.
            tags.meta(name="color-scheme", content="light dark"),
            tags.title(slot("title")),
            tags.style(STYLE),
            tags.link(rel="alternate", type="application/atom+xml", href=FEED,
                      title="Every change on this server"),
            slot("head"),
        ),
        tags.body(
            _nav(registry),
            Tag("main")(slot("main"), id="main"),
            tags.footer(tags.p("occi-twisted", DOT, "OCCI 1.2", DOT,
                               tags.a("query interface", href=QUERY), DOT,
                               tags.a("event feed", href=FEED))),
        ),
        lang="en",
    )


_layouts: Memo[tuple[Fragment, Markup]] = Memo(64)


def _layout(registry: Registry) -> tuple[Fragment, Markup]:
    """The document up to the content and after it.  Kinds are fixed at start-up, so the
    navigation is built once per registry."""
    def build() -> tuple[Fragment, Markup]:
        start, end = compiled(_document(registry), "title", "head", "who",
                              "main").split("main")
        return Fragment((DOCTYPE, *start.pieces)), end.markup
    return _layouts.get((registry,), build)


#: What each paging relation reads as.
_PAGING_WORDS = {"first": "First page", "prev": "Previous page", "previous": "Newer entries",
                 "next": "Next page"}


def pagingNav(links: Sequence[tuple[str, str]], *, older: bool = False) -> Markup:
    """The paging ``links`` (relation, URL) as a navigation of their own; ``older`` for a
    feed, whose next page holds older entries."""
    words = {**_PAGING_WORDS, "next": "Older entries"} if older else _PAGING_WORDS
    shown = [(rel, href(url)) for rel, url in links]
    return flattened(tags.nav(
        tags.ul([tags.li(tags.a(words.get(rel, rel), href=at, rel=rel))
                 for rel, at in shown if at is not None]),
        id="paging", **dashed(aria_label="Pages"))) if shown else NOTHING


def pagingOf(context: RenderContext) -> tuple[tuple[str, str], ...]:
    return context.paging if isinstance(context, PageContext) else ()


def pageStart(title: str, context: RenderContext, head: Markup = NOTHING) -> Markup:
    """The page up to the start of its main content."""
    return _layout(registryOf(context))[0](title=title, head=head, who=_who(context))


def pageEnd(context: RenderContext) -> Markup:
    """The page after its main content."""
    return _layout(registryOf(context))[1]


def page(title: str, context: RenderContext, *content: Markup, head: Markup = NOTHING) -> bytes:
    """A whole page around ``content``."""
    return b"".join((pageStart(title, context, head), *content, pageEnd(context)))
