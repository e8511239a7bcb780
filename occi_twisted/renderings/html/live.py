"""How far a request is, on its page, moving as the request moves.

The page shows a ``<progress>`` bar with the percentage, the pass (``pass 2 of 3``), the bytes
done, the rate and the time left when the request's progress tells them.  While the request
is under way, a few lines of script (no library) keep it current: they ask for the request
as JSON, then long-poll it -- ``If-None-Match`` with the ETag last seen and ``Prefer:
wait=25``, which the server answers as soon as the request changes (each progress step,
each state) or with 304 after the wait -- and write what came into the page.  Once the
request has ended the page is loaded again, as the server renders a finished request.  The
rate is measured by the script between the answers it saw; the server, without script,
gives the average since the request started.

Without script the page still follows the request: a refresh every
:data:`REFRESH_SECONDS`, inside ``<noscript>`` so that a browser running the script does not
also reload.  The script is written inline (the server sends no Content-Security-Policy
that forbids it); it holds no ``<`` or ``&`` (:func:`.markup.script`).
"""

from __future__ import annotations

from collections.abc import Mapping

from twisted.web.template import tags

from ...model import Entity
from ...model.requestview import parseTimestamp
from ..values import byteSize
from .layout import DOT
from .markup import NOTHING, Markup, dashed, flattened, script
from .words import (
    REQUEST_PERCENT,
    REQUEST_PROGRESS,
    REQUEST_STARTED,
    duration,
    number,
    uri,
    valueText,
)

#: Seconds between reloads of the page of a request under way, for a browser without script.
REFRESH_SECONDS = 2
#: The details after the bar, by element id, each written by the server and by the script.
DETAILS = ("pass", "done", "rate", "eta")

# The script: keep it free of "<" and "&" (markup.script refuses them).
SOURCE = r"""(function () {
"use strict";
var live = document.getElementById("live");
if (!live || !window.fetch) { return; }
var url = live.getAttribute("data-request"), P = "occi-twisted.request.";
var tag = null, first = null, UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
function say(id, text) {
  var element = document.getElementById(id);
  if (element) { element.textContent = text; }
}
function detail(id, text) { say(id, text ? " \u00b7 " + text : ""); }
function size(n) {
  var unit = 0;
  while (n >= 1024) { if (unit === 5) { break; } n /= 1024; unit += 1; }
  return unit === 0 ? Math.round(n) + " B" : n.toFixed(1) + " " + UNITS[unit];
}
function two(n) { return n > 9 ? String(n) : "0" + n; }
function duration(s) {
  s = Math.max(0, Math.round(s));
  if (s >= 3600) { return Math.floor(s / 3600) + " h " + two(Math.floor(s / 60) % 60) + " min"; }
  if (s >= 60) { return Math.floor(s / 60) + " min" + (s % 60 ? " " + two(s % 60) + " s" : ""); }
  return s + " s";
}
function show(a) {
  var p = a[P + "progress"] || {}, percent = a[P + "percent"], state = a[P + "state"];
  var bar = document.getElementById("progress"), badge = document.getElementById("state");
  var now = Date.now() / 1000;
  if (typeof percent === "number") {
    bar.value = percent;
    bar.textContent = percent + "%";
    say("percent", percent + "%");
  }
  if (badge) { badge.textContent = state; badge.className = "state state-" + state; }
  if (a[P + "message"]) { say("request-message", a[P + "message"]); }
  detail("pass", p.passes ? "pass " + p.pass + " of " + p.passes : "");
  if (typeof p.bytes === "number") {
    detail("done", size(p.bytes) + " of " + size(p.totalBytes));
    if (first === null) { first = [now, p.bytes]; }
    else if (now > first[0]) {
      var rate = (p.bytes - first[1]) / (now - first[0]);
      if (rate > 0) {
        detail("rate", size(rate) + "/s");
        detail("eta", "about " + duration((p.totalBytes - p.bytes) / rate) + " left");
      }
    }
  }
  return ["succeeded", "failed", "cancelled"].indexOf(state) === -1;
}
function poll() {
  var headers = {"Accept": "application/json"};
  if (tag !== null) { headers["If-None-Match"] = tag; headers["Prefer"] = "wait=25"; }
  fetch(url, {headers: headers, cache: "no-store", credentials: "same-origin"})
    .then(function (response) {
      if (response.status === 304) { poll(); return null; }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      tag = response.headers.get("ETag");
      return response.json().then(function (found) {
        if (show(found.attributes)) { poll(); } else { window.location.reload(); }
      });
    })
    .catch(function () { window.setTimeout(poll, 5000); });
}
poll();
}());"""

_SCRIPT = script(SOURCE)
_REFRESH = flattened(tags.noscript(tags.meta(content=str(REFRESH_SECONDS),
                                             **dashed(http_equiv="refresh"))))


def progressSection(entity: Entity, live: bool) -> Markup:
    """The bar and what is known of the request's pace; ``live``: the script may move it
    (the request is under way)."""
    attributes = entity.attributes
    percent = attributes.get(REQUEST_PERCENT)
    if not isinstance(percent, (int, float)) or isinstance(percent, bool):
        return NOTHING
    shown = number(float(percent))
    known = _details(attributes, entity.updated)
    details = [tags.span(f"{DOT}{known[ident]}" if ident in known else "", id=ident,
                         class_="muted") for ident in DETAILS]
    where = dashed(data_request=uri(entity.location)) if live else {}
    return flattened(tags.section(
        tags.p(tags.progress(f"{shown}%", id="progress", max="100", value=shown), " ",
               tags.span(f"{shown}%", id="percent"), details),
        id="live", **where))


def liveScript(live: bool) -> Markup:
    """The script that moves the bar, for a request under way."""
    return _SCRIPT if live else NOTHING


def refreshHead(live: bool) -> Markup:
    """What reloads the page of a request under way in a browser without script."""
    return _REFRESH if live else NOTHING


def _details(attributes: Mapping[str, object], updated: float) -> dict[str, str]:
    """The pass, the bytes done, and -- from the time since it started -- the rate and the
    time left, as far as the progress tells them."""
    progress = attributes.get(REQUEST_PROGRESS)
    if not isinstance(progress, dict):
        return {}
    known: dict[str, str] = {}
    if "pass" in progress and "passes" in progress:
        known["pass"] = f"pass {valueText(progress['pass'])} of {valueText(progress['passes'])}"
    done, total = progress.get("bytes"), progress.get("totalBytes")
    if not (isinstance(done, int) and isinstance(total, int)):
        return known
    known["done"] = f"{byteSize(done)} of {byteSize(total)}"
    started = attributes.get(REQUEST_STARTED)
    try:
        elapsed = updated - parseTimestamp(str(started)) if started is not None else 0.0
    except ValueError:
        elapsed = 0.0
    if elapsed > 0 and done > 0 and total > done:
        rate = done / elapsed
        known["rate"] = f"{byteSize(rate)}/s"
        known["eta"] = f"about {duration((total - done) / rate)} left"
    return known
