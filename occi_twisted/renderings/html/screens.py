"""What a compute shows on its page, where its driver has it: its screen while it runs, and
its serial console's text, both following the guest as it goes.

The server writes the screen as an ``<img>`` of ``{compute}?format=png`` (only while the
compute is ``active``: there is no screen to show otherwise, and a broken image helps nobody)
and a place for the console's text.  A few lines of script (no library; the only other is a
request's progress bar, :mod:`.live`) then keep both current:

- the console: the last :data:`TAIL` bytes of ``{compute}/console`` first (``Range:
  bytes=-N``), then what came after the offset the last answer ended at (``Range: bytes=N-``,
  416 while there is nothing new), appended to the text -- after each new piece at once
  again, then less and less often, up to every :data:`SLOW_MS` ms.  A log shorter than the
  offset was replaced: it is read again from its tail.  Bytes are decoded as a stream (a
  character split between two answers stays whole); terminal escapes and control
  characters, which a page cannot play, are left out.  The text keeps its last
  :data:`KEEP` characters and stays scrolled to its end unless the person scrolled up.
- the screen: every :data:`SCREEN_MS` ms, fetched again (``Cache-Control: no-store``) and
  shown from a ``blob:`` URL, so that the image never goes blank between two.  While the
  compute does not run (the server answers 409) the image is hidden and a sentence says why;
  it is asked again every :data:`GONE_MS` ms, and comes back when the compute runs again.

Neither is asked while the page is not visible (another tab).  Without script the page shows
the console in a frame (inside ``<noscript>``) and the screen as it was when the page was
loaded: reloading the page follows the boot.  The script holds no ``<`` or ``&``
(:func:`.markup.script`); every URL reaches it through ``src`` and ``data-`` attributes,
escaped by the flattener.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.web.template import Tag, tags

from ...model import Entity
from .markup import NOTHING, Markup, dashed, flattened, script
from .words import uri

#: What the screen's and the console's media types are, among what a compute shows.
PNG = "image/png"
#: The console's text the page starts with, from its end (bytes).
TAIL = 64 * 1024
#: The most console text the page keeps (characters).
KEEP = 256 * 1024
#: How often the screen is taken again while the compute runs (ms), and asked for again
#: once it is gone (the compute stopped).
SCREEN_MS = 2000
GONE_MS = 6000
#: The console is asked again this soon after new text (ms) ...
FAST_MS = 300
#: ... and at most this long after nothing new (ms).
SLOW_MS = 4000
#: Said where the screen would be, while the compute does not run.
NOT_RUNNING = "The screen is shown while the compute runs."

# The script: keep it free of "<" and "&" (markup.script refuses them).
SOURCE = ('(function () {\n"use strict";\n'
          f"var TAIL = {TAIL}, KEEP = {KEEP}, SCREEN = {SCREEN_MS}, GONE = {GONE_MS};\n"
          f"var FAST = {FAST_MS}, SLOW = {SLOW_MS};\n" + r"""if (!window.fetch) { return; }
function later(f, ms) { window.setTimeout(f, ms); }
function ask(url, headers) {
  return fetch(url, {headers: headers, cache: "no-store", credentials: "same-origin"});
}
var screen = document.getElementById("screen"), note = document.getElementById("screen-note");
if (screen) {
  var source = screen.getAttribute("src"), shown = null;
  var refresh = function () {
    if (document.hidden) { later(refresh, SCREEN); return; }
    ask(source, {"Accept": "image/png"}).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.blob();
    }).then(function (blob) {
      var old = shown;
      shown = URL.createObjectURL(blob);
      screen.onload = function () { if (old) { URL.revokeObjectURL(old); } };
      screen.src = shown;
      screen.hidden = false;
      note.hidden = true;
      later(refresh, SCREEN);
    }).catch(function () {
      screen.hidden = true;
      note.hidden = false;
      later(refresh, GONE);
    });
  };
  later(refresh, SCREEN);
}
var text = document.getElementById("console-text");
if (!text || !window.TextDecoder) { return; }
var url = text.getAttribute("data-console"), offset = -1, delay = FAST, carry = "";
var decoder = new TextDecoder();
var ESCAPES = /\u001b(\[[0-9;?]*[ -\/]*[@-~]|[()#][0-9A-Za-z]|[^\[()#])/g;
var PARTIAL = /\u001b(\[[0-9;?]*[ -\/]*|[()#])?$/, CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
var RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;
function restart() {
  offset = -1;
  carry = "";
  decoder = new TextDecoder();
  text.textContent = "";
}
function append(data, fromLineStart) {
  var piece = carry + decoder.decode(data, {stream: true}), partial = PARTIAL.exec(piece);
  carry = partial ? partial[0] : "";
  piece = piece.slice(0, piece.length - carry.length).replace(ESCAPES, "").replace(CONTROLS, "");
  if (!fromLineStart) { piece = piece.slice(piece.indexOf("\n") + 1); }
  if (!piece) { return; }
  var atEnd = text.scrollTop + text.clientHeight + 16 >= text.scrollHeight;
  text.appendChild(document.createTextNode(piece));
  var all = text.textContent;
  if (all.length > KEEP) {
    all = all.slice(all.length - KEEP);
    text.textContent = all.slice(all.indexOf("\n") + 1);
  }
  if (atEnd) { text.scrollTop = text.scrollHeight; }
}
function poll() {
  if (document.hidden) { later(poll, SLOW); return; }
  var range = offset === -1 ? "bytes=-" + TAIL : "bytes=" + offset + "-";
  ask(url, {"Accept": "text/plain", "Range": range}).then(function (response) {
    var found = RANGE.exec(response.headers.get("Content-Range") || "");
    if (response.status === 416) {
      var length = Number((response.headers.get("Content-Range") || "").split("/")[1]);
      if (offset > length) { restart(); later(poll, 0); return null; }
      delay = Math.min(delay * 2, SLOW);
      later(poll, delay);
      return null;
    }
    if (response.status === 200) { restart(); }
    else if (response.status !== 206 || !found) { throw new Error("HTTP " + response.status); }
    return response.arrayBuffer().then(function (data) {
      var start = found ? Number(found[1]) : 0;
      append(new Uint8Array(data), offset !== -1 || start === 0);
      offset = found ? Number(found[2]) + 1 : data.byteLength;
      delay = data.byteLength ? FAST : Math.min(delay * 2, SLOW);
      later(poll, delay);
    });
  }).catch(function () { later(poll, SLOW); });
}
text.hidden = false;
poll();
}());""")

_SCRIPT = script(SOURCE)


def screensSection(entity: Entity, shows: Sequence[tuple[str, str]]) -> Markup:
    """The section of what ``entity`` shows: ``shows`` is (path, media type) of each (none:
    a driver that shows nothing, and no section)."""
    items: list[Tag] = []
    for path, mediaType in shows:
        if mediaType == PNG:
            items += _screen(path, entity.attributes.get("occi.compute.state") == "active")
        else:
            items += _console(uri(path), mediaType)
    if not items:
        return NOTHING
    return Markup(flattened(tags.section(tags.h2("Console"), *items, id="console-section"))
                  + _SCRIPT)


def _screen(path: str, running: bool) -> list[Tag]:
    """The screen while the compute runs (and the sentence the script shows if it stops);
    otherwise the sentence alone."""
    heading = tags.h3("Screen")
    if not running:
        return [heading, tags.p(NOT_RUNNING, id="screen-note", class_="muted")]
    return [heading, tags.p(tags.img(src=uri(path), id="screen", alt="The compute's screen")),
            tags.p(NOT_RUNNING, id="screen-note", class_="muted", hidden="")]


def _console(at: str, mediaType: str) -> list[Tag]:
    """The console's text (filled and followed by the script; a frame in its place
    without script), and the link to the text itself."""
    return [
        tags.h3("Serial console"),
        tags.pre(id="console-text", hidden="", tabindex="0", role="log",
                 **dashed(data_console=at, aria_label="Serial console")),
        tags.noscript(tags.iframe(src=at, id="console-frame", title="Serial console"),
                      tags.p("Reload the page to see what came since.", class_="muted")),
        tags.p("All of it, from the first boot on: ", tags.a("the console", href=at,
                                                             id="console"),
               f" ({mediaType}; ", tags.code("Range: bytes=N-"),
               " gives what came after the first N bytes).", class_="muted"),
    ]
