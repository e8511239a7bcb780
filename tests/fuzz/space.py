"""Strategies over everything a client can send: methods, paths from the server's URL space,
query arguments, the headers the server reads, and bodies in every rendering -- valid ones
(what the server itself rendered) and hostile ones (deep nesting, huge numbers, digits that
are not ASCII, NUL, lone surrogates, broken UTF-8).

Half the requests are plausible: a route of the world (:attr:`~.world.World.routes`), a method
it takes, an ``Accept`` it serves, the query arguments, headers and bodies that route reads
-- each of which may be hostile.  That is what reaches the code behind the parsing; the
other half is anything at all.  Ids that differ between worlds stay placeholders
(``{request}``) until a world sends the request.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from hypothesis import strategies as st

from occi_twisted.model import Registry
from occi_twisted.renderings.standard import inputTypes, outputTypes

from ..http.test_properties import LINES
from .world import INFRA, Request, World

OUTPUT_TYPES = outputTypes(listing=True)
INPUT_TYPES = [*inputTypes(), "text/occi+plain", "text/uri-list", "application/json"]
FORMATS = ["html", "text", "occi", "json", "xml", "descriptor", "atom", "urilist"]
REGISTRY = Registry.standard()

#: Numbers as attackers spell them: huge, beyond 64 bits, other scripts' digits, specials.
ODD_NUMBERS = st.sampled_from([
    "", "-1", "-0", "+1", " 1", "1_000", "0x10", "1e3", ".5", "NaN", "Infinity", "1e309",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "9" * 4301,
    "1" + "0" * 5000, "\u00b2", "\u00b9\u00b2", "\u00b3", "\u0661\u0662", "\uff11",
    "\U0001d7cf", "\u00bd",
])
NUMBERS = ODD_NUMBERS | st.integers(-5, 200).map(str) | st.integers().map(str)
#: Strings with a meaning somewhere: quoting, escaping, markup, encodings, path syntax.
NASTY = st.sampled_from([
    "", " ", "\t", "\x00", "\x1e", "\x7f", "\x85", "\u00e9", "\U0001d11e", "\u202e",
    "\ufeff", "\ud800", "\udfff", '"', "'", "\\", '\\"', "<", ">", "&", "&amp;", "]]>",
    "<!--", "%", "%00", "%zz", "%2F", "..", "../../etc/passwd", "/", "//", "?", "#", ";",
    ",", "=", "*", "{}", "[]", "null", "true", "a" * 300, "\u00ff" * 1000,
]) | st.text(max_size=30)


def _bytes(text: str) -> bytes:
    """Text on the wire: UTF-8, with lone surrogates as the bytes a careless client sends."""
    return text.encode("utf-8", "surrogatepass")


def rarely(draw: st.DrawFn, odds: int) -> bool:
    """True once in ``odds`` draws (hypothesis favours the ends of a range: not 0 or odds)."""
    return draw(st.integers(1, odds)) == odds // 2


# -- query arguments --------------------------------------------------------------------------

ACTIONS = [action.term for action in REGISTRY.actions()] + [
    f"{action.scheme}{action.term}" for action in REGISTRY.actions()]
QUERY_VALUES = {
    "action": st.sampled_from(ACTIONS) | NASTY,
    "format": st.sampled_from(FORMATS) | NASTY,
    "page": NUMBERS, "number": NUMBERS, "before": NUMBERS, "after": NUMBERS | NASTY,
    "category": st.sampled_from([c.term for c in REGISTRY]) | NASTY,
}


@st.composite
def queries(draw: st.DrawFn, keys: list[str] | None = None) -> str:
    names = st.sampled_from(keys or sorted(QUERY_VALUES)) | NASTY
    pairs = [(key, draw(QUERY_VALUES.get(key, NASTY))) for key in draw(
        st.lists(names, max_size=3))]
    if not pairs:
        return ""
    return "?" + "&".join(f"{quote(_bytes(key), safe='')}={quote(_bytes(value), safe='')}"
                          for key, value in pairs)


@st.composite
def paths(draw: st.DrawFn, known: list[str]) -> str:
    """A known path, or one near it: a slash more or less, a hostile segment."""
    path = draw(st.sampled_from(known))
    junk = quote(_bytes(draw(NASTY)), safe="")
    return draw(st.sampled_from([
        path, path + "/", path.rstrip("/") or "/", f"{path.rstrip('/')}/{junk}",
        f"{path.rstrip('/').rpartition('/')[0]}/{junk}", path.replace("/", "//", 1),
        path + junk, "*", "http://occi.test" + path]))


# -- headers ----------------------------------------------------------------------------------

def _categoryOf(category: object) -> str:
    kind = type(category).__name__.lower()
    term, scheme = getattr(category, "term", ""), getattr(category, "scheme", "")
    location = getattr(category, "location", None)
    extra = f'; location="{location}"' if location else ""
    return f'{term}; scheme="{scheme}"; class="{kind}"{extra}'


CATEGORIES = [_categoryOf(category) for category in REGISTRY]
ATTRIBUTES = sorted({definition.name for category in REGISTRY
                     for definition in category.attributes})


@st.composite
def attributeValues(draw: st.DrawFn) -> str:
    value = draw(st.one_of(
        NUMBERS, NASTY.map(lambda s: '"' + s.replace('"', '\\"') + '"'),
        st.sampled_from(['"/compute/c1"', '"/network/n1"', "true", "false", '"x86_64"']),
    ))
    return f"{draw(st.sampled_from(ATTRIBUTES) | NASTY)}={value}"


def _joined(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(values, min_size=1, max_size=3).map(", ".join)


MEDIA_RANGES = st.sampled_from([*OUTPUT_TYPES, "*/*", "text/*", "application/*", "*",
                                "image/png"])
ETAGS = st.sampled_from(["*", '"x"', 'W/"x"', '"0"', '"1-2"']) | NASTY
HEADERS: dict[str, st.SearchStrategy[str]] = {
    "Accept": _joined(st.tuples(MEDIA_RANGES, st.sampled_from(["", ";q="]), NUMBERS | NASTY)
                      .map(lambda t: t[0] + (t[1] + t[2] if t[1] else ""))) | NASTY,
    "Category": _joined(st.sampled_from(CATEGORIES) | NASTY),
    "X-OCCI-Attribute": _joined(attributeValues()),
    "X-OCCI-Location": _joined(st.sampled_from(["/compute/c1", "http://occi.test/storage/s1",
                                                "/nothing/x", "/tag/"]) | NASTY),
    "Link": st.tuples(st.sampled_from(["/network/n1", "/storage/s1", "/compute/c1"]) | NASTY,
                      st.sampled_from(CATEGORIES) | NASTY)
              .map(lambda t: f'<{t[0]}>; rel="{t[1]}"; category="{t[1]}"'),
    "Prefer": _joined(NUMBERS.map(lambda n: f"wait={n}") |
                      st.sampled_from(["respond-async", "return=minimal", "wait"]) | NASTY),
    "If-Match": _joined(ETAGS),
    "If-None-Match": _joined(ETAGS),
    "If-Modified-Since": st.sampled_from(["Thu, 01 Jan 1970 00:00:00 GMT",
                                          "Sun, 06 Nov 9999 08:49:37 GMT",
                                          "Sun, 06 Nov 1994 08:49:37 GMT"]) | NASTY,
    "User-Agent": st.tuples(st.sampled_from(["", "occi-cli ", "rOCCI "]), NUMBERS,
                            NUMBERS).map(lambda t: f"{t[0]}OCCI/{t[1]}.{t[2]}") | NASTY,
    "Idempotency-Key": st.sampled_from(["k1", "k" * 255, "k" * 256, "a b", "\u00e9"]) | NASTY,
    "POE": st.sampled_from(["1", "0", "yes"]) | NASTY,
    "Content-Type": st.sampled_from(INPUT_TYPES).map(lambda t: t + "; charset=utf-8") | NASTY,
    "Range": st.sampled_from(["bytes=0-10", "bytes=-1", "bytes=9-1", "lines=1"]) | NASTY,
}


def _headerSafe(text: str, encoding: str) -> bytes:
    """A header value: no CR or LF (that would be another header), anything else goes, in
    UTF-8 or in Latin-1 (which the server reads headers as)."""
    raw = _bytes(text) if encoding == "utf-8" else text.encode("latin-1", "replace")
    return raw.replace(b"\r", b" ").replace(b"\n", b" ")


@st.composite
def headers(draw: st.DrawFn, names: list[str] | None = None,
            maxSize: int = 5) -> list[tuple[bytes, bytes]]:
    chosen = draw(st.lists(st.sampled_from(names or sorted(HEADERS)), max_size=maxSize))
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    sent = [(name.encode(), _headerSafe(draw(HEADERS[name]), encoding)) for name in chosen]
    if rarely(draw, 40):  # longer than a header line may be
        sent.append((draw(st.sampled_from(sorted(HEADERS))).encode(), b"a" * 17000))
    return sent


# -- bodies -----------------------------------------------------------------------------------

def _nested(opening: str, closing: str) -> st.SearchStrategy[str]:
    return st.sampled_from([10, 1000, 100_000]).map(lambda n: opening * n + closing * n)


HOSTILE_BODIES: dict[str, st.SearchStrategy[str]] = {
    "application/json": st.one_of(
        _nested("[", "]"), _nested('{"a":', "}").map(lambda s: s.replace("}", "1}", 1)),
        _nested("[", "]").map(lambda s: '{"text": ' + s + "}"),
        st.sampled_from(['{"text": "\\ud800"}', '{"text": "\\u0000"}', '{"text": 1e999}',
                         '{"kind": 1' + "0" * 5000 + "}", "[]", "null", '"x"', "{}",
                         '{"a": 1, "a": 2}'])),
    "application/occi+xml": st.one_of(
        _nested("<a>", "</a>"),
        st.sampled_from(['<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
                         "<resource><attribute name='occi.compute.cores' value='1e999'/>"
                         "</resource>", "<a>\x00</a>", "\ufeff<a/>"])),
    "text/plain": st.lists(LINES | NASTY, max_size=8).map("\n".join)
                  | st.sampled_from(["X-OCCI-Attribute: a=" + "[" * 5000,
                                     "Category: " + "a;" * 5000]),
    "application/x-www-form-urlencoded": st.lists(
        st.tuples(st.sampled_from(["_method", "occi.compute.cores", "kind", "action"]) | NASTY,
                  NUMBERS | NASTY).map(lambda t: f"{quote(_bytes(t[0]))}={quote(_bytes(t[1]))}"),
        max_size=5).map("&".join),
}
NOTE_BODIES = st.one_of(
    st.tuples(st.just("text/plain"), NASTY),
    st.tuples(st.just("application/json"), NASTY.map(lambda s: f'{{"text": "{s}"}}')),
    st.tuples(st.just("application/json"), HOSTILE_BODIES["application/json"]))
_NUMBER = re.compile(rb"\d+")


@st.composite
def bodies(draw: st.DrawFn, rendered: dict[str, bytes],
           plausible: bool = False) -> tuple[str, bytes]:
    """A Content-Type and a body: a seed's rendering (perhaps altered), or a hostile one."""
    choices = ["rendered", "altered", "hostile"] + ([] if plausible else ["hostile", "bytes"])
    choice = draw(st.sampled_from(choices))
    if choice in ("rendered", "altered"):
        key = draw(st.sampled_from(sorted(rendered)))
        mediaType, body = key.split(" ", 1)[0], rendered[key]
        if choice == "altered":
            body = _altered(draw, body)
        return mediaType, body
    if choice == "hostile":
        mediaType = draw(st.sampled_from(sorted(HOSTILE_BODIES)))
        sentAs = mediaType if plausible else draw(st.sampled_from([mediaType, *INPUT_TYPES]))
        return sentAs, _bytes(draw(HOSTILE_BODIES[mediaType]))
    return draw(st.sampled_from(INPUT_TYPES)), draw(st.binary(max_size=200))


def _altered(draw: st.DrawFn, body: bytes) -> bytes:
    how = draw(st.sampled_from(["number", "cut", "insert"]))
    if how == "number" and _NUMBER.search(body):
        return _NUMBER.sub(_bytes(draw(NUMBERS)).replace(b"\\", b""), body, count=1)
    at = draw(st.integers(0, len(body)))
    if how == "cut":
        return body[:at]
    return body[:at] + _bytes(draw(NASTY)) + body[at:]


# -- requests ---------------------------------------------------------------------------------

_FEED = (["before", "number", "format"], ["If-None-Match", "If-Modified-Since", "Prefer"])
_COLLECTION = (["page", "number", "after", "action", "format", "category"],
               ["Category", "X-OCCI-Attribute", "X-OCCI-Location", "Idempotency-Key",
                "Prefer", "If-Match"])
_REQUESTS = (["after", "number", "format"], ["Prefer", "If-None-Match", "If-Match"])
_NOTES = (["after", "format"], ["Idempotency-Key", "POE", "If-Match", "If-None-Match"])
#: What each kind of route reads: its query arguments and headers.
READS: dict[str, tuple[list[str], list[str]]] = {
    "landing": (["format"], ["Range"]), "query": (["category", "format"], ["Category"]),
    "feed": _FEED, "entry": _FEED, "template": (["format"], ["Range"]),
    "kinds": _COLLECTION, "mixins": _COLLECTION,
    "entity": (["action", "format"], ["If-Match", "If-None-Match", "Prefer", "Category",
                                      "X-OCCI-Attribute", "Link"]),
    "requests": _REQUESTS, "request": _REQUESTS, "notes": _NOTES, "note": _NOTES,
    # Signed URLs: what a client (or a forger) puts in their query, and a download's headers.
    "files": (["expires", "key", "signature", "owner", "max"], ["Range", "If-Range",
                                                                 "If-None-Match"]),
}
#: Where in each header a value goes (``{}``), for the plausible request with one hostile
#: value put into one place.
SLOTS: dict[str, list[str]] = {
    "Accept": ["{}", "text/plain;q={}", "application/{}"],
    "Category": [f'{{}}; scheme="{INFRA}"; class="kind"', 'compute; scheme="{}"; class="kind"',
                 f'compute; scheme="{INFRA}"; class="{{}}"',
                 'tag; scheme="http://x.example/t#"; class="mixin"; location="{}"'],
    "X-OCCI-Attribute": ["occi.compute.cores={}", 'occi.core.title="{}"', "{}=1",
                         "occi.storage.size={}", 'occi.core.id="{}"'],
    "X-OCCI-Location": ["{}", "http://occi.test/compute/{}"],
    "Link": [f'<{{}}>; rel="{INFRA}network"', '</network/n1>; rel="{}"'],
    "Prefer": ["wait={}", "{}", "respond-async, wait={}"],
    "If-Match": ['"{}"', "{}"], "If-None-Match": ['"{}"', "{}"],
    "If-Modified-Since": ["{}", "Sun, 06 Nov {} 08:49:37 GMT"],
    "User-Agent": ["OCCI/{}.2", "OCCI/1.{}", "client OCCI/{}.{}", "{}"],
    "Idempotency-Key": ["{}"], "POE": ["{}"], "If-Range": ['"{}"', "{}"],
    "Content-Type": ["{}", "text/plain; charset={}"], "Range": ["bytes={}-", "{}"],
}
#: What a well-behaved client sends in each header.
VALID: dict[str, list[str]] = {
    "Prefer": ["respond-async", "wait=1", "wait=0"], "If-Match": ['"x"', "*"],
    "If-None-Match": ['"x"', "*"], "If-Modified-Since": ["Sun, 06 Nov 1994 08:49:37 GMT"],
    "User-Agent": ["OCCI/1.2", "rOCCI-cli OCCI/1.1"], "Category": CATEGORIES,
    "X-OCCI-Attribute": ["occi.compute.cores=2", 'occi.core.title="t"'],
    "X-OCCI-Location": ["/compute/c1"], "Idempotency-Key": ["k1", "k2"], "POE": ["1"],
    "Link": [f'</network/n1>; rel="{INFRA}network"; category="{INFRA}networkinterface"'],
    "Range": ["bytes=0-10"],
}
VALID_QUERY = {"action": st.sampled_from(ACTIONS), "format": st.sampled_from(FORMATS),
               "category": st.sampled_from([c.term for c in REGISTRY])}
HOSTILE = ODD_NUMBERS | NASTY
METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE"])
ODD_METHODS = st.sampled_from(["PATCH", "OPTIONS", "TRACE", "get", "CONNECT", "FOO"])


@st.composite
def requests(draw: st.DrawFn, template: World) -> Request:
    """Any request a client could send to ``template``'s kind of world: half plausible (a
    route, a method it takes, what it reads, with one hostile value put somewhere: a header,
    a query argument or the body), half anything at all."""
    route = draw(st.sampled_from(sorted(template.routes)))
    if draw(st.booleans()):
        return draw(_plausible(template, route))
    method = draw(METHODS | ODD_METHODS)
    sent = draw(headers())
    target = draw(paths(template.paths)) + draw(queries())
    mediaType, body = b"", b""
    if method not in ("GET", "HEAD") or rarely(draw, 10):
        mediaType, body = draw(bodies(template.bodies))
    return _request(method, target, sent, mediaType, body, chunked=rarely(draw, 10))


@st.composite
def _plausible(draw: st.DrawFn, template: World, route: str) -> Request:
    path = draw(st.sampled_from(template.routes[route]))
    method = draw(st.sampled_from(template.allowed[path]))
    keys, names = READS[route]
    sent = [(b"Accept", draw(st.sampled_from([*OUTPUT_TYPES, "*/*"])).encode())]
    for name in draw(st.lists(st.sampled_from([n for n in names if n in VALID]), max_size=1)):
        sent.append((name.encode(), draw(st.sampled_from(VALID[name])).encode()))
    query = [(key, draw(VALID_QUERY.get(key, st.integers(1, 100).map(str))))
             for key in draw(st.lists(st.sampled_from(keys), max_size=1))]
    mediaType, body = "", b""
    if method not in ("GET", "HEAD"):
        if route in ("notes", "note"):
            mediaType, text = draw(NOTE_BODIES)
            body = _bytes(text)
        else:
            mediaType, body = draw(bodies(template.bodies, plausible=True))
    where = draw(st.sampled_from(["header", "header", "query", "body", "nowhere"]))
    value = draw(HOSTILE)
    if where == "header":
        name = draw(st.sampled_from([*names, "User-Agent", "Accept", "Content-Type"]))
        encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
        shaped = draw(st.sampled_from(SLOTS[name])).replace("{}", value)
        sent = [(n, v) for n, v in sent if n != name.encode()]
        sent.append((name.encode(), _headerSafe(shaped, encoding)))
    elif where == "query":
        query.append((draw(st.sampled_from(keys)), value))
    elif where == "body" and method not in ("GET", "HEAD"):
        mediaType, body = draw(NOTE_BODIES if route in ("notes", "note") else bodies(
            template.bodies))
        body = _bytes(body) if isinstance(body, str) else body
    target = path + ("?" + "&".join(f"{k}={quote(_bytes(v), safe='')}" for k, v in query)
                     if query else "")
    return _request(method, target, sent, mediaType, body, chunked=rarely(draw, 10))


def _request(method: str, target: str, sent: list[tuple[bytes, bytes]], mediaType: str,
             body: bytes, *, chunked: bool) -> Request:
    if mediaType and not any(name == b"Content-Type" for name, _ in sent):
        sent.append((b"Content-Type", mediaType.encode()))
    return Request(method.encode(), _bytes(target), tuple(sent), body, chunked=chunked)
