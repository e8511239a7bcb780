"""An XMPP subscriber independent of Twisted: slixmpp, on its own asyncio loop in a thread.

Every request returns a :class:`concurrent.futures.Future` (``support.deferred`` makes it a
Deferred), so a test on the Twisted reactor never blocks it while the component under test,
on that reactor, has to answer.  The client sends presence when its session starts (Prosody
gives a bare JID's messages only to available resources), and it reconnects by itself, 0.1 s
after a connection is lost or refused, until :meth:`Subscriber.close`.  A session counts as
up once the server has echoed that presence: from then on it delivers notifications.

Notifications are kept in arrival order as :class:`Notification` s, with the payload as an
ElementTree element.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from slixmpp import ClientXMPP

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = NS_PUBSUB + "#event"
#: Seconds to wait for the answer to a request.
TIMEOUT = 5

T = TypeVar("T")


@dataclass(frozen=True)
class Notification:
    node: str
    itemId: str
    payload: ET.Element | None


@dataclass(frozen=True)
class DiscoInfo:
    identities: Sequence[tuple[str, str, str | None]]
    features: Sequence[str]
    #: The node's meta-data form (``pubsub#...`` fields), if any.
    metaData: Mapping[str, str]


class Subscriber:
    """One account (``jid``, ``password``) on the c2s port ``address``, talking to the pubsub
    ``service``."""

    def __init__(self, jid: str, password: str, address: tuple[str, int], service: str) -> None:
        self.jid = jid
        self.password = password
        self.address = address
        self.service = service
        self.notifications: list[Notification] = []
        self.deletions: list[str] = []
        self.sessions = 0
        self._closing = False
        self._client: ClientXMPP | None = None
        self._online: asyncio.Event | None = None
        self._arrived: asyncio.Event | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True,
                                        name=f"slixmpp {jid}")
        self._thread.start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(started.set)
        self._loop.run_forever()
        # Closed: let slixmpp's tasks see their cancellation, then close the loop.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def submit(self, work: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run ``work()`` on the subscriber's loop."""

        async def run() -> T:
            return await work()

        return asyncio.run_coroutine_threadsafe(run(), self._loop)

    @property
    def client(self) -> ClientXMPP:
        assert self._client is not None, "start() first"
        return self._client

    # -- session ------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> concurrent.futures.Future[None]:
        """Connect; done once the session is up and presence sent."""
        return self.submit(lambda: self._start(timeout))

    async def _start(self, timeout: float) -> None:
        self._online = asyncio.Event()
        self._arrived = asyncio.Event()
        client = ClientXMPP(self.jid, self.password, plugin_config={
            "feature_mechanisms": {"unencrypted_scram": True}})
        # Plain TCP on loopback: no direct TLS, no STARTTLS (Prosody has no certificate).
        client.enable_direct_tls = False
        client.enable_starttls = False
        client.enable_plaintext = True
        for plugin in ("xep_0004", "xep_0030", "xep_0060"):
            client.register_plugin(plugin)
        client.add_event_handler("session_start", self._sessionStarted)
        client.add_event_handler("presence_available", self._available)
        client.add_event_handler("disconnected", self._lost)
        client.add_event_handler("connection_failed", self._lost)
        client.add_event_handler("failed_auth", self._lost)
        client.add_event_handler("pubsub_publish", self._published)
        client.add_event_handler("pubsub_delete", self._deleted)
        self._client = client
        client.connect(*self.address)
        await asyncio.wait_for(self._online.wait(), timeout)

    def _sessionStarted(self, event: Any) -> None:
        self.client.send_presence()

    def _available(self, presence: Any) -> None:
        # Our own presence, back from the server: it has seen it, and gives us messages.
        if presence["from"] == self.client.boundjid:
            self.sessions += 1
            assert self._online is not None
            self._online.set()

    def _lost(self, event: Any) -> None:
        if self._online is not None:
            self._online.clear()
        if not self._closing and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = self._loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        await asyncio.sleep(0.1)
        if not self._closing:
            self.client.connect(*self.address)

    def waitOnline(self, sessions: int, timeout: float = 10.0
                   ) -> concurrent.futures.Future[None]:
        """Done when the ``sessions``-th session is up (and still is)."""

        async def wait() -> None:
            assert self._online is not None
            deadline = self._loop.time() + timeout
            while self.sessions < sessions or not self._online.is_set():
                if self._loop.time() > deadline:
                    raise TimeoutError(f"session {sessions} not up in {timeout} s")
                await asyncio.sleep(0.01)

        return self.submit(wait)

    def close(self, timeout: float = 5.0) -> None:
        """Disconnect and end the thread (blocking: call it from a fixture's teardown)."""

        async def close() -> None:
            self._closing = True
            if self._reconnecting is not None:
                self._reconnecting.cancel()
            if self._client is not None:
                # Until the server closed its stream too: a Prosody stopped with a client
                # still connected waits a second for it.
                await self._client.disconnect(wait=1.0)

        with contextlib.suppress(concurrent.futures.TimeoutError, OSError):
            self.submit(close).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    # -- notifications ------------------------------------------------------------------

    def _published(self, message: Any) -> None:
        items = message.xml.find(f"{{{NS_EVENT}}}event/{{{NS_EVENT}}}items")
        for item in items.findall(f"{{{NS_EVENT}}}item"):
            payload = next(iter(item), None)
            self.notifications.append(Notification(items.get("node"), item.get("id"),
                                                   payload))
        assert self._arrived is not None
        self._arrived.set()

    def _deleted(self, message: Any) -> None:
        self.deletions.append(message["pubsub_event"]["delete"]["node"])
        assert self._arrived is not None
        self._arrived.set()

    def waitForNotifications(self, count: int, timeout: float = 10.0
                             ) -> concurrent.futures.Future[list[Notification]]:
        """Done once ``count`` notifications arrived in all; with all of them.  Fails with
        a TimeoutError saying how many came."""

        async def wait() -> list[Notification]:
            assert self._arrived is not None
            deadline = self._loop.time() + timeout
            while len(self.notifications) < count:
                self._arrived.clear()
                left = deadline - self._loop.time()
                if left <= 0:
                    raise TimeoutError(f"{len(self.notifications)} of {count} notifications "
                                       f"arrived in {timeout} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), left)
            return list(self.notifications)

        return self.submit(wait)

    # -- requests -----------------------------------------------------------------------

    def subscribe(self, node: str, options: Mapping[str, Any] | None = None
                  ) -> concurrent.futures.Future[ET.Element]:
        """Subscribe our bare JID; done with the ``<subscription/>`` element."""

        async def subscribe() -> ET.Element:
            form = None
            if options is not None:
                form = self.client.plugin["xep_0004"].make_form("submit")
                form.add_field("FORM_TYPE", ftype="hidden",
                               value=NS_PUBSUB + "#subscribe_options")
                for name, value in options.items():
                    form.add_field(name, value=value)
            result = await self.client.plugin["xep_0060"].subscribe(self.service, node,
                                                             options=form, timeout=TIMEOUT)
            return result.xml.find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}subscription")

        return self.submit(subscribe)

    def unsubscribe(self, node: str) -> concurrent.futures.Future[None]:
        async def unsubscribe() -> None:
            await self.client.plugin["xep_0060"].unsubscribe(self.service, node, timeout=TIMEOUT)

        return self.submit(unsubscribe)

    def items(self, node: str, maxItems: int | None = None
              ) -> concurrent.futures.Future[list[tuple[str, ET.Element | None]]]:
        """Items retrieval: ``(id, payload)`` in the order the service answers."""

        async def items() -> list[tuple[str, ET.Element | None]]:
            result = await self.client.plugin["xep_0060"].get_items(self.service, node,
                                                             max_items=maxItems, timeout=TIMEOUT)
            found = result.xml.findall(
                f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items/{{{NS_PUBSUB}}}item")
            return [(item.get("id"), next(iter(item), None)) for item in found]

        return self.submit(items)

    def discoInfo(self, node: str | None = None) -> concurrent.futures.Future[DiscoInfo]:
        async def info() -> DiscoInfo:
            result = await self.client.plugin["xep_0030"].get_info(jid=self.service, node=node,
                                                            timeout=TIMEOUT)
            disco = result["disco_info"]
            metaData: dict[str, str] = {}
            form = result.xml.find(".//{jabber:x:data}x")
            if form is not None:
                for field in form.findall("{jabber:x:data}field"):
                    value = field.find("{jabber:x:data}value")
                    metaData[field.get("var", "")] = "" if value is None else value.text or ""
            return DiscoInfo([(c, t, n) for c, t, _lang, n in disco["identities"]],
                             list(disco["features"]), metaData)

        return self.submit(info)

    def discoItems(self, node: str | None = None) -> concurrent.futures.Future[list[str]]:
        async def items() -> list[str]:
            result = await self.client.plugin["xep_0030"].get_items(jid=self.service, node=node,
                                                             timeout=TIMEOUT)
            return [itemNode for _jid, itemNode, _name in result["disco_items"]["items"]]

        return self.submit(items)

    def options(self, node: str) -> concurrent.futures.Future[dict[str, Any]]:
        """The subscription's options form, as field values."""

        async def options() -> dict[str, Any]:
            result = await self.client.plugin["xep_0060"].get_subscription_options(
                self.service, node, self.client.boundjid.bare, timeout=TIMEOUT)
            values: dict[str, Any] = {}
            form = result.xml.find(f".//{{{NS_PUBSUB}}}options/{{jabber:x:data}}x")
            for field in form.findall("{jabber:x:data}field"):
                values[field.get("var", "")] = [v.text or "" for v in
                                               field.findall("{jabber:x:data}value")]
            return values

        return self.submit(options)

    def setOptions(self, node: str, values: Mapping[str, str]
                   ) -> concurrent.futures.Future[None]:
        async def setOptions() -> None:
            form = self.client.plugin["xep_0004"].make_form("submit")
            form.add_field("FORM_TYPE", ftype="hidden", value=NS_PUBSUB + "#subscribe_options")
            for name, value in values.items():
                form.add_field(name, value=value)
            # Not xep_0060.set_subscription_options: it sends a "get".
            iq = self.client.Iq(sto=self.service, stype="set")
            iq["pubsub"]["options"]["node"] = node
            iq["pubsub"]["options"]["jid"] = self.client.boundjid.bare
            iq["pubsub"]["options"].append(form)
            await iq.send(timeout=TIMEOUT)

        return self.submit(setOptions)
