"""The URL space as the routes resolve it: fixed paths have routes of their own, and a path
Klein only reads as a fixed one (an empty segment, a missing ``/``) is answered as it always
was, by what the path says."""

from __future__ import annotations

import pytest_twisted as pt

from .support import BASE, Client

TEXT = {"Accept": "text/plain"}


@pt.ensureDeferred
async def test_fixed_paths() -> None:
    client = Client()
    for path in ("/", "/-/", "/.well-known/org/ogf/occi/-/", "/log/", "/templates/",
                 "/templates/small"):
        answer = await client.request("GET", path, **TEXT)
        assert answer.code == 200, (path, answer.text)
        assert "OCCI/1.2" in (answer.header("server") or "")
        refused = await client.request("PATCH", path, **TEXT)
        assert refused.code == 405, path
    assert (await client.request("PATCH", "/", **TEXT)).header("allow") == "GET, HEAD"
    assert (await client.request("PATCH", "/-/", **TEXT)).header("allow") == \
        "GET, HEAD, POST, DELETE"


@pt.ensureDeferred
async def test_spellings_klein_would_normalise() -> None:
    client = Client()
    assert (await client.request("GET", "/log", **TEXT)).code == 200
    for path, message in (("/-", "There is nothing at /-."),
                          ("//log/", "There is no collection at //log/."),
                          ("//", "There is no collection at //."),
                          ("/templates", "There is nothing at /templates."),
                          ("/templates/a/b", "There is no template called 'a/b'."),
                          ("/log/a/b", "There is nothing at /log/a/b.")):
        answer = await client.request("GET", path, **TEXT)
        assert (answer.code, answer.text) == (404, message + "\n"), path


@pt.ensureDeferred
async def test_a_log_whose_owner_is_missing_reads_as_the_path_without_it() -> None:
    client = Client()
    mixin = ('Category: tags; scheme="http://example.org/my#"; class="mixin"; '
             'location="/tags/log/"\n')
    assert (await client.request("POST", "/-/", mixin, Content_Type="text/plain")).code == 200
    path = await client.create()
    listed = await client.request("PUT", "/tags/log/", f"X-OCCI-Location: {path}\n",
                                  Content_Type="text/plain", **TEXT)
    assert listed.code == 200, listed.text
    members = await client.request("GET", "/tags/log/", Accept="text/uri-list")
    assert members.code == 200 and path in members.text
    entry = await client.request("GET", f"{path}/log/log", **TEXT)
    assert (entry.code, entry.text) == (404, f"{path}/log/ has no entry log.\n")


#: Methods no place takes, then the rest (DELETE last: where it is allowed, it deletes).
METHODS = ("OPTIONS", "PATCH", "TRACE", "PUT", "POST", "GET", "HEAD", "DELETE")


@pt.ensureDeferred
async def test_every_shape_of_place_has_one_allow_and_says_what_it_reads() -> None:
    """RFC 7231 section 7.4.1: every 405 at a place gives the same Allow, and no method it
    lists is 405; where a body is read, Accept lists its types (GFD.223 section 4.2)."""
    client = Client()
    compute = await client.create()
    started = await client.request("POST", f"{compute}?action=start", Prefer="respond-async")
    noted = await client.request("PUT", f"{compute}/notes/n1", "Some text",
                                 Content_Type="text/plain")
    assert started.code == 202 and noted.code == 201
    logged = await client.request("GET", f"{compute}/log/", Accept="application/json")
    places = {
        "/templates/": None, "/templates/small": None, "/-/self": None, "/": None,
        f"{compute}/log/": None, logged.json()["entries"][0]["url"][len(BASE):]: None,
        f"{compute}/requests/": "application/occi+json",
        (started.header("location") or "")[len(BASE):]: None,
        f"{compute}/notes/": "application/json", f"{compute}/notes/n1": "application/json",
        "/compute/": "text/occi", "/-/": "text/plain", compute: "application/atom+xml",
    }
    for path, reads in places.items():
        allows, refused = set(), set()
        for method in METHODS:
            answer = await client.request(method, path)
            assert answer.code < 500, (path, method, answer.text)
            if answer.code == 405:
                refused.add(method)
                allows.add(answer.header("allow"))
            accept = answer.header("accept")
            assert (reads in (accept or "").split(", ")) if reads else accept is None, path
        assert len(allows) == 1, (path, allows)
        [allow] = allows
        assert refused & set((allow or "").split(", ")) == set(), path


@pt.ensureDeferred
async def test_web_links_stay_out_of_the_header_rendering() -> None:
    """In text/occi every Link header is an OCCI link of the entity (GFD.229 section 3.2):
    the landing page's collections, pages' neighbours and monitors are left out there."""
    client = Client()
    compute = await client.create()
    await client.create()
    plain = await client.request("POST", f"{compute}?action=start", Accept="text/plain")
    occi = await client.request("POST", f"{compute}?action=stop", Accept="text/occi")
    assert plain.code == occi.code == 200, occi.text
    assert any('rel="monitor"' in link for link in plain.headers["link"])
    assert occi.headers["link"]  # the entity's action links, OCCI's
    assert all('rel="monitor"' not in link for link in occi.headers["link"])
    for path in ("/", "/compute/?page=1&number=1", f"{compute}/requests/?number=1"):
        plain = await client.request("GET", path, Accept="text/plain")
        occi = await client.request("GET", path, Accept="text/occi")
        assert plain.code == occi.code == 200, (path, occi.text)
        assert plain.headers.get("link") and "link" not in occi.headers, path
