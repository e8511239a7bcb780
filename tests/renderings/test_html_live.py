"""The pages that move: a request's progress (its details, the script that long-polls it,
the reload for browsers without script), and a storage's image (download, upload form)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from occi_twisted.model import Description, newEntity, withState
from occi_twisted.model.infrastructure import COMPUTE, STORAGE
from occi_twisted.model.requests import RequestRecord, RequestState
from occi_twisted.model.requestview import requestViewAt
from occi_twisted.renderings.document import EntityView
from occi_twisted.renderings.html import HTML, IMAGE_FIELD, Transfers
from occi_twisted.renderings.html.live import DETAILS, REFRESH_SECONDS, SOURCE
from occi_twisted.renderings.html.markup import script
from occi_twisted.renderings.html.screens import NOT_RUNNING
from occi_twisted.renderings.html.screens import SOURCE as SCREENS
from occi_twisted.renderings.html.words import duration
from occi_twisted.renderings.values import byteSize

from .test_html import byId, maybeId, page, parse, textOf, tokens

MIB = 1 << 20
ERASE = "http://schemas.occi-twisted.org/occi/infrastructure/storage/action#secure_erase"


def eraseRequest(state: RequestState, done: int = 64 * MIB, **more: object) -> EntityView:
    record = RequestRecord(
        id="r1", entityId="s1", owner="anonymous", action=ERASE, attributes={"passes": 3},
        state=state, notBefore=0.0, created=90.0, updated=116.0, started=100.0,
        progress={"percent": round(100 * done / (256 * MIB), 2), "pass": 1, "passes": 3,
                  "bytes": done, "totalBytes": 256 * MIB}, **more)  # type: ignore[arg-type]
    return EntityView(requestViewAt(record, "/storage/s1"))


def requestPage(view: EntityView) -> bytes:
    return HTML.entity(view, page("/storage/s1/requests/r1")).body


def test_a_request_under_way_shows_pass_bytes_rate_and_time_left() -> None:
    root = parse(requestPage(eraseRequest(RequestState.RUNNING)))
    progress = byId(root, "progress")
    assert (progress.get("max"), progress.get("value")) == ("100", "25")
    assert textOf(byId(root, "percent")) == "25%"
    # 64 MiB in the 16 s since it started: 4 MiB/s, and 192 MiB to go.
    shown = {ident: textOf(byId(root, ident)) for ident in DETAILS}
    assert shown == {"pass": " \u00b7 pass 1 of 3", "done": " \u00b7 64.0 MiB of 256.0 MiB",
                     "rate": " \u00b7 4.0 MiB/s", "eta": " \u00b7 about 48 s left"}


def test_a_request_under_way_is_followed_by_script_or_by_reloads() -> None:
    body = requestPage(eraseRequest(RequestState.RUNNING))
    root = parse(body)
    assert byId(root, "live").get("data-request") == "/storage/s1/requests/r1"
    scripts = list(root.iter("script"))
    assert len(scripts) == 1 and scripts[0].text == SOURCE
    assert [tag for tag, _ in tokens(body).tags].count("script") == 1
    # The reload is for browsers without script only: inside <noscript>, in the head.
    head = root.find("head")
    assert head is not None
    [noscript] = head.findall("noscript")
    [meta] = noscript.findall("meta")
    assert (meta.get("http-equiv"), meta.get("content")) == ("refresh", str(REFRESH_SECONDS))
    assert "wait=25" in SOURCE and "If-None-Match" in SOURCE


def test_a_request_not_started_shows_no_rate() -> None:
    root = parse(requestPage(eraseRequest(RequestState.QUEUED, done=0)))
    assert textOf(byId(root, "rate")) == textOf(byId(root, "eta")) == ""
    assert byId(root, "progress").get("value") == "0"


@pytest.mark.parametrize("state", [RequestState.SUCCEEDED, RequestState.FAILED,
                                   RequestState.CANCELLED])
def test_an_ended_request_neither_polls_nor_reloads(state: RequestState) -> None:
    body = requestPage(eraseRequest(state, done=256 * MIB))
    root = parse(body)
    assert not list(root.iter("script")) and not list(root.iter("noscript"))
    assert byId(root, "live").get("data-request") is None
    assert textOf(byId(root, "done")) == " \u00b7 256.0 MiB of 256.0 MiB"
    assert textOf(byId(root, "eta")) == ""


def test_the_script_stays_text_in_html_and_in_xml() -> None:
    assert not set("<&") & set(SOURCE)
    with pytest.raises(ValueError):
        script("if (a < b) {}")
    with pytest.raises(ValueError):
        script("a && b")


@pytest.mark.parametrize(("count", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (64 * MIB, "64.0 MiB"),
    (1536 * MIB, "1.5 GiB"), (1 << 60, "1024.0 PiB")])
def test_sizes_read_as_people_read_them(count: int, text: str) -> None:
    assert byteSize(count) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (44.6, "45 s"), (60, "1 min"), (185, "3 min 05 s"), (600, "10 min"),
    (7620, "2 h 07 min"), (-3, "0 s")])
def test_durations_read_as_people_read_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


# -- a storage's image -------------------------------------------------------------------------

SIGNED = "/-/files/storage/s1?expires=1&key=k&max=1&owner=a&signature=x"


def storagePage(transfers: Transfers | None) -> bytes:
    storage = newEntity(Description(kind=STORAGE, attributes={
        "occi.storage.size": "0.0625", "occi.storage.state": "offline"}), entityId="s1")
    context = page("/storage/s1")
    if transfers is not None:
        context = replace(context, transfers=transfers)
    return HTML.entity(EntityView(storage), context).body


def test_an_offline_storage_offers_its_image_and_an_upload_form() -> None:
    body = storagePage(Transfers("/storage/s1?format=image", SIGNED, 64 * MIB, 600.0))
    root = parse(body)
    download = byId(root, "download")
    assert download.get("href") == "/storage/s1?format=image"
    assert "64.0 MiB" in textOf(byId(root, "image-section"))
    upload = byId(root, "upload")
    assert (upload.get("method"), upload.get("enctype")) == ("post", "multipart/form-data")
    assert upload.get("action") == SIGNED  # the query's "&" escaped, and read back whole
    assert "&amp;key=k" in body.decode()
    [file] = [e for e in upload.iter("input") if e.get("type") == "file"]
    assert (file.get("name"), file.get("required")) == (IMAGE_FIELD, "required")
    assert re.search(r"good for 10 min;", textOf(upload))
    assert maybeId(root, "no-upload") is None


def test_a_storage_that_is_not_offline_says_how_to_upload() -> None:
    root = parse(storagePage(Transfers("/storage/s1?format=image", None, 64 * MIB, 600.0)))
    assert byId(root, "download") is not None
    assert maybeId(root, "upload") is None
    assert "offline" in textOf(byId(root, "no-upload"))


def test_without_files_a_storage_page_has_no_image_section() -> None:
    root = parse(storagePage(None))
    assert maybeId(root, "image-section") is None


# -- a compute's screen and serial console -----------------------------------------------------

SHOWS = (("/compute/c1?format=png", "image/png"), ("/compute/c1/console", "text/plain"))


def computePage(state: str, shows: tuple[tuple[str, str], ...] = SHOWS) -> bytes:
    compute = withState(newEntity(Description(kind=COMPUTE), entityId="c1"),
                        {"occi.compute.state": state})
    return HTML.entity(EntityView(compute), replace(page("/compute/c1"), shows=shows)).body


def test_a_running_compute_shows_its_screen_and_follows_its_console() -> None:
    body = computePage("active")
    root = parse(body)
    screen = byId(root, "screen")
    assert (screen.tag, screen.get("src")) == ("img", "/compute/c1?format=png")
    assert byId(root, "screen-note").get("hidden") is not None  # until the screen is gone
    text = byId(root, "console-text")
    # Empty and hidden until the script fills it; a browser without script shows the frame.
    assert (text.tag, text.get("data-console"), text.get("hidden")) == (
        "pre", "/compute/c1/console", "")
    assert not text.text
    [noscript] = byId(root, "console-section").iter("noscript")
    [frame] = noscript.iter("iframe")
    assert frame.get("src") == "/compute/c1/console"
    assert byId(root, "console").get("href") == "/compute/c1/console"
    [found] = list(root.iter("script"))
    assert found.text == SCREENS
    assert [tag for tag, _ in tokens(body).tags].count("script") == 1
    assert "Range" in SCREENS and "bytes=-" in SCREENS and "createObjectURL" in SCREENS


def test_a_compute_that_does_not_run_shows_no_screen_but_its_console() -> None:
    root = parse(computePage("inactive"))
    assert maybeId(root, "screen") is None
    note = byId(root, "screen-note")
    assert note.get("hidden") is None and textOf(note) == NOT_RUNNING
    assert byId(root, "console-text").get("data-console") == "/compute/c1/console"
    assert len(list(root.iter("script"))) == 1


def test_a_driver_that_shows_nothing_leaves_no_trace_on_the_page() -> None:
    body = computePage("active", shows=())
    root = parse(body)
    assert maybeId(root, "console-section") is None
    assert not list(root.iter("script")) and not list(root.iter("img"))
    assert not list(root.iter("iframe"))


def test_the_screens_paths_are_escaped_where_they_are_written() -> None:
    odd = '/compute/a"b<c>&d'
    root = parse(computePage("active", shows=((f"{odd}?format=png", "image/png"),
                                              (f"{odd}/console", "text/plain"))))
    assert byId(root, "screen").get("src") == "/compute/a%22b%3Cc%3E&d?format=png"
    assert byId(root, "console-text").get("data-console") == "/compute/a%22b%3Cc%3E&d/console"
