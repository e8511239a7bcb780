"""The store: the one place where state shared by every node of a cloud lives.

Its methods fall in small interfaces, one per concern: entities and user mixins
(:class:`IEntityStore`), persistent requests (:class:`IRequestStore`), the event log and its
change notifications (:class:`IEventLog`), notes (:class:`INoteStore`), pubsub subscriptions
(:class:`ISubscriptionStore`), remembered answers (:class:`IAnswerStore`) and where migrated
entities went (:class:`IForwardStore`).  Every backend
(memory for tests, SQLite embedded, PostgreSQL for several nodes) implements them all -- that
is :class:`IStore`, which the service wires as one object -- and passes each interface's
contract tests (``tests/store/``).  A room that needs one concern depends on that interface
only: the scheduler on the requests, the XMPP service on the events and subscriptions.

Writes are *change sets*: a list of :class:`Put`, :class:`Delete` and
:class:`~.requests.AddRequest` applied atomically, and durable before the returned Deferred
fires -- the HTTP layer answers 2xx only after that, which is what makes every 2xx survive
``kill -9``.  Referential rules that must hold however requests
interleave (a link's source must exist; deleting a resource deletes its links; ids are unique)
are enforced inside the change set's transaction, never by a read-then-write in the caller.

Persistent requests (:mod:`.requests`) live here too: every transition of one (claimed by a
node, checkpointed, finished, cancelled) is one transaction, which is what lets several nodes
share the work without running anything twice.
"""

# zope.interface methods are declared without ``self``.

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface

from ..model import Entity, Mixin, Value
from ..model.answers import Answer, RememberAnswer
from ..model.events import Event, EventPage, Subscription
from ..model.forwards import Forward, RememberForward
from ..model.notes import Note, NotePage
from ..model.quotas import WithinQuota
from ..model.requests import AddRequest, RequestPage, RequestRecord, RequestState

#: ``Put.expect`` for "this must be a new entity".
CREATE = -1


class StoreUnavailable(Exception):
    """The store cannot be used at all: an unusable path, a damaged file, a stopped store.

    Unlike the domain errors (deliberately not an ``OCCIError``), this says nothing about the
    request: the launcher turns it into a one-line error at start-up, and the HTTP layer should
    answer 503 for it.  ``message`` is that one line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Put:
    """Store ``entity`` (under its id).

    ``expect`` guards against lost updates: ``None`` writes unconditionally, :data:`CREATE`
    requires that no entity has the id (else :class:`~occi_twisted.model.errors.Conflict`), and
    a revision number requires the stored entity to be at exactly that revision (else
    :class:`~occi_twisted.model.errors.PreconditionFailed`; a missing one is
    :class:`~occi_twisted.model.errors.NotFound`).  The entity's ``revision`` field is stored as
    given: callers bump it (the model's update functions do).

    Inside the change set's transaction the store also checks that the kind of a stored entity
    does not change, that every user mixin the entity carries is still defined, and, for a
    link, that ``occi.core.source`` is the location of a resource and that a local
    ``occi.core.target`` (a path starting with ``/``) is the location of an entity -- each
    breach is a :class:`~occi_twisted.model.errors.Conflict`.  Earlier changes of the same set
    count: a resource and its links can be created together.
    """

    entity: Entity
    expect: int | None = None
    #: Who makes the change, for its event (``None``: the entity's owner).
    author: str | None = None


@dataclass(frozen=True)
class Delete:
    """Delete the entity with id ``entityId`` and every link whose source or target it is.

    ``expect`` as for :class:`Put` (``CREATE`` is meaningless here); a missing entity is
    :class:`~occi_twisted.model.errors.NotFound`.
    """

    entityId: str
    expect: int | None = None
    #: Who makes the change, for its events (``None``: each entity's owner).
    author: str | None = None


Change = Put | Delete | AddRequest | RememberAnswer | WithinQuota | RememberForward


@dataclass(frozen=True)
class Query:
    """Which entities a listing wants.

    ``kinds``: identifiers of acceptable kinds (the caller expands a kind to its descendants);
    empty means any.  ``mixins``: identifiers, an entity matches if it is associated with any
    of them directly (as for kinds, the caller expands a mixin to the mixins that depend on it
    when it wants those too).  ``attributes``: exact values (already coerced to the attribute's
    type), compared by type: numbers by value (``2`` matches ``2.0``), booleans only with
    booleans, strings only with strings, lists and hashes by their JSON text (no number
    coercion inside them).  ``owner``: only that owner's entities, when set.
    """

    kinds: frozenset[str] = frozenset()
    mixins: frozenset[str] = frozenset()
    attributes: Mapping[str, Value] = field(default_factory=dict)
    owner: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a listing, in a stable order (creation order).

    ``cursor`` is opaque: pass it back as ``after`` for the next page; ``None`` means done.
    A cursor stays valid however the store changes meanwhile: entities created later come after
    it, and a deleted entity is simply not listed.  A cursor the store did not give out is a
    :class:`~occi_twisted.model.errors.BadRequest`.
    """

    entities: Sequence[Entity]
    cursor: str | None


class IEntityStore(Interface):
    """Durable storage of entities and user-defined mixins, written in change sets."""

    registry = Attribute("The model registry the store resolves categories with.")

    def start() -> Deferred[None]:
        """Open the store, creating its schema if needed; loads user mixins into the registry.

        Fails with :class:`StoreUnavailable` when the store cannot be opened."""

    def stop() -> Deferred[None]:
        """Finish pending writes and close.  Later calls fail with :class:`StoreUnavailable`."""

    def get(entityId: str) -> Deferred[Entity | None]:
        """The entity with this id, or ``None``."""

    def apply(changes: Sequence[Change]) -> Deferred[None]:
        """Apply the changes atomically; fires once they are durable, or fails with a domain
        error (Conflict, NotFound, PreconditionFailed) having changed nothing.

        An :class:`AddRequest` among them stores a request, a :class:`RememberAnswer` an
        answer, in the same transaction; a :class:`WithinQuota` refuses the set
        (QuotaExceeded) if its owner's things, with the changes before it, go beyond the
        limits."""

    def page(query: Query, after: str | None, limit: int) -> Deferred[Page]:
        """Up to ``limit`` (at least 1) entities matching ``query`` after the cursor ``after``."""

    def count(query: Query) -> Deferred[int]:
        """How many entities match ``query``."""

    def linksFrom(sources: Sequence[str]) -> Deferred[dict[str, list[Entity]]]:
        """The links whose ``occi.core.source`` is one of the locations ``sources``, by source.

        Every location asked for is a key (with an empty list when nothing links from it); each
        list is in creation order.  Resources render with their links, so listings ask for a
        page's worth at once."""

    def defineMixin(mixin: Mixin) -> Deferred[Mixin]:
        """Durably add a user-defined mixin (to the store and the registry).  Defining the same
        mixin again is harmless; a clash with another category is a Conflict."""

    def removeMixin(identifier: str) -> Deferred[None]:
        """Durably remove a user-defined mixin and its association with every entity.

        Each entity that carried it loses it and gets its revision bumped (its ETag changes).
        An unknown mixin is NotFound; a mixin of the server's own, or one another user mixin
        depends on, is a Conflict."""


class IFollowedRegistry(Interface):
    """A store that several nodes share: the user mixins one node defines or removes reach
    the registry of every other, soon after the commit (PostgreSQL)."""

    def followMixins() -> Deferred[bool]:
        """Re-read the user mixins into the registry now (a request names a mixin this node
        has not heard of yet); whether the registry changed."""


class ISharedLogins(Interface):
    """A store that several nodes share passes each node's failed logins on to every other,
    so that the login throttle counts an address's guesses over all the nodes a balancer
    spreads them across (PostgreSQL).  Nothing is kept: a throttle forgets in a minute, and a
    node that starts forgets as a single server does."""

    def tellFailedLogin(key: str, at: float) -> None:
        """Tell the other nodes that the address ``key`` failed to log in at ``at`` (epoch
        seconds); without waiting, and a failure to tell is only logged."""

    def followFailedLogins(heard: Callable[[str, float], None]) -> None:
        """Call ``heard(key, at)`` (on the reactor thread) for each failed login another
        node tells of."""


class IAnswerStore(Interface):
    """Answers remembered for ``Idempotency-Key`` (see :mod:`occi_twisted.model.answers`); a
    :class:`RememberAnswer` in a change set stores one."""

    def recall(owner: str, key: str) -> Deferred[Answer | None]:
        """The answer remembered for ``owner``'s ``Idempotency-Key`` ``key``, if any."""

    def forgetAnswers(before: float) -> Deferred[int]:
        """Forget the answers remembered before ``before``; how many were forgotten."""


class IForwardStore(Interface):
    """Where migrated entities went (see :mod:`occi_twisted.model.forwards`); a
    :class:`~occi_twisted.model.forwards.RememberForward` in a change set keeps one, in the
    transaction that deletes the entity here.

    While a location has a forward (known or forgotten), no entity is created with its id:
    that is a :class:`~occi_twisted.model.errors.Conflict`, so a moved entity is never live
    here again beside its copy."""

    def forward(location: str) -> Deferred[Forward | None]:
        """The forward of the entity that was at ``location`` (a path), or ``None``."""

    def forwards(owner: str | None, after: str | None, limit: int
                 ) -> Deferred[tuple[list[Forward], str | None]]:
        """Up to ``limit`` forwards (``owner``'s only, if given), oldest first, after the
        cursor ``after``; and the cursor of the next page (``None``: no more)."""

    def forgetForward(location: str) -> Deferred[Forward]:
        """Forget where the entity that was at ``location`` went: it is gone (410) from
        now on.  The forward as it is then; NotFound if there is none."""


class IEventLog(Interface):
    """The events of every change (see :mod:`occi_twisted.model.events`), and the one path
    on which the store tells this process that changes were made.

    Every change set, request transition and mixin removal appends its events in its own
    transaction (a lease renewal alone appends none).  Whoever follows the store -- long
    polls of a request, the XMPP publisher -- registers a listener and reads what came after
    the last event it saw."""

    def eventsAfter(after: int, limit: int) -> Deferred[list[Event]]:
        """Up to ``limit`` events with ``seq > after``, oldest first: what a follower of the
        whole store has not seen yet."""

    def events(
        node: str, *, requestId: str | None = None, before: int | None = None, limit: int = 50,
        owner: str | None = None,
    ) -> Deferred[EventPage]:
        """The events of ``node`` -- ``/`` (all), a kind collection (``/compute/``) or an
        entity's location -- and only those of request ``requestId`` if given, and only
        ``owner``'s if given (a user's feed holds only theirs), newest first, with
        ``seq < before`` if given; ``more`` says whether older ones exist."""

    def event(eventId: str) -> Deferred[Event | None]:
        """The event with this id (an Atom entry's, an XMPP item's), or ``None``."""

    def newestSeq() -> Deferred[int]:
        """The ``seq`` of the newest event whose change was acknowledged (0: none): while it
        stays the same, no acknowledged change was made -- what readers stamp what they
        keep with (see :mod:`occi_twisted.http.renditions`)."""

    def addEventListener(listener: Callable[[], None]) -> None:
        """Call ``listener`` (on the reactor thread, with no arguments) after each commit
        that appended events, once it is durable; it reads them with :meth:`eventsAfter`.
        A listener that raises is logged and keeps listening."""

    def removeEventListener(listener: Callable[[], None]) -> None:
        """Stop calling ``listener`` (harmless if it was not listening)."""


class INoteStore(Interface):
    """Notes on entities (see :mod:`occi_twisted.model.notes`); they go with their entity."""

    def putNote(note: Note, expect: int | None = None) -> Deferred[Note]:
        """Store ``note`` (its entity must exist: NotFound); ``expect`` as in
        :func:`~occi_twisted.model.notes.checkPut`.  Fires with the note as stored (its
        revision one more than the one it replaces)."""

    def getNote(entityId: str, noteId: str) -> Deferred[Note | None]:
        """The note, or ``None``."""

    def deleteNote(entityId: str, noteId: str, expect: int | None = None) -> Deferred[None]:
        """Delete the note (NotFound if there is none; PreconditionFailed if ``expect`` is
        not its revision)."""

    def listNotes(entityId: str, after: str | None, limit: int) -> Deferred[NotePage]:
        """Up to ``limit`` notes of the entity in creation order, after the cursor."""


class ISubscriptionStore(Interface):
    """Pubsub subscriptions: XEP-0060 state, shared by the nodes serving one cloud."""

    def subscribe(subscription: Subscription) -> Deferred[Subscription]:
        """Keep ``subscription``; if ``jid`` is subscribed to ``node`` already, that one is
        kept (and returned) with the new options."""

    def unsubscribe(node: str, jid: str, subid: str | None = None) -> Deferred[bool]:
        """Remove ``jid``'s subscription to ``node`` (that ``subid``, if given); whether one
        was there."""

    def subscriptions(
        node: str | None = None, jid: str | None = None
    ) -> Deferred[list[Subscription]]:
        """The subscriptions to ``node`` and/or of ``jid`` (``None``: any), oldest first."""

    def publishedUpTo() -> Deferred[int | None]:
        """The ``seq`` of the last event whose notifications the XMPP server is known to have
        taken, whichever node held the component then; ``None`` if none ever did.  A node
        that takes the component over starts there, so that no event goes unpublished."""

    def savePublished(seq: int) -> Deferred[None]:
        """Record that notifications up to ``seq`` were taken.  It never moves backwards: a
        node that confirms late cannot undo what a later holder confirmed."""


class IPubSubStore(IEventLog, ISubscriptionStore):
    """What a pubsub service over the events reads and keeps: the event log and the
    subscriptions to its nodes."""


class IRequestStore(Interface):
    """Persistent requests (see :mod:`occi_twisted.model.requests`).

    Times are given by the caller (the scheduler's clock), never read by the store: leases
    and due times are compared with the clock that set them, which tests drive."""

    def addRequest(*records: RequestRecord, alongside: Sequence[Change] = ()) -> Deferred[None]:
        """Store new requests (see :func:`~occi_twisted.model.requests.newRequest`) and the
        changes ``alongside`` in one transaction; fires once it is durable.

        As ``apply([AddRequest(record), ..., *alongside])``: each request's entity must exist
        (NotFound) and its id be new (Conflict), and a refusal stores none of it."""

    def getRequest(requestId: str) -> Deferred[RequestRecord | None]:
        """The request with this id, or ``None``."""

    def listRequests(
        entityId: str | None, after: str | None, limit: int
    ) -> Deferred[RequestPage]:
        """Up to ``limit`` (at least 1) requests of the entity ``entityId`` (``None``: of every
        entity) in creation order, after the cursor ``after``; cursors as for
        :meth:`IEntityStore.page`."""

    def claimDue(
        node: str, now: float, limit: int, leaseSeconds: float
    ) -> Deferred[list[RequestRecord]]:
        """Atomically claim for ``node`` up to ``limit`` requests due at ``now``, longest due
        first.

        Due: waiting (queued or scheduled) with ``notBefore <= now``, or running with a lease
        that ended at or before ``now`` (its node crashed, or stalled).  Each claimed request
        becomes running, held by ``node`` until ``now + leaseSeconds``, one more attempt, and
        durable before this fires; no two claims, from whatever node, ever get the same
        request while its lease holds.  Nothing else is read: pending requests cost nothing
        until they are claimed."""

    def checkpoint(
        requestId: str,
        node: str,
        *,
        now: float,
        leaseSeconds: float,
        progress: Mapping[str, Value] | None = None,
        checkpoint: Value | None = None,
    ) -> Deferred[RequestRecord]:
        """Durably save the running request's progress and checkpoint (``None``: unchanged)
        and renew ``node``'s lease until ``now + leaseSeconds``; fires with the record, whose
        ``cancelRequested`` tells the runner to stop.  Conflict if ``node`` does not hold the
        request (another node took it over, or it ended); NotFound if there is none."""

    def finish(
        requestId: str,
        node: str,
        *,
        now: float,
        state: RequestState,
        message: str,
        progress: Mapping[str, Value] | None = None,
        changes: Sequence[Change] = (),
    ) -> Deferred[RequestRecord]:
        """End the request ``node`` holds as succeeded, failed or cancelled, with a message for
        the client (and final progress, if given).  Conflict and NotFound as for
        :meth:`checkpoint`.

        ``changes`` (as for :meth:`IEntityStore.apply`) commit in the same transaction: what
        an action made of its entity and the end of its request are durable together or not
        at all, so a crash between the two can never make an action run twice.  A refused
        change (e.g. PreconditionFailed: the entity changed meanwhile) leaves the request
        running."""

    def release(
        requestId: str,
        node: str,
        *,
        now: float,
        notBefore: float,
        message: str,
        countAttempt: bool = True,
    ) -> Deferred[RequestRecord]:
        """Make the request ``node`` holds wait again until ``notBefore``, keeping its progress
        and checkpoint: a retry after a transient failure, or work interrupted by an orderly
        stop (``countAttempt=False`` gives that attempt back).  A request whose cancellation
        was asked is cancelled instead.  Conflict and NotFound as for :meth:`checkpoint`."""

    def cancel(requestId: str, now: float) -> Deferred[RequestRecord]:
        """Cancel: a waiting request at once; a running one sets ``cancelRequested``, which
        its runner sees at its next checkpoint.  Harmless when already cancelled or asked;
        Conflict when it succeeded or failed; NotFound when there is no such request."""

    def countRequests() -> Deferred[dict[tuple[str, str], int]]:
        """How many requests there are of each action in each state, by ``(action
        identifier, state)``; pairs with none are left out.  One query, for the metrics."""

    def nextDue(now: float) -> Deferred[float | None]:
        """The earliest time after ``now`` at which a request becomes due (a ``notBefore``, or
        the end of a lease), or ``None``: when a scheduler's timer should next claim."""

    def releaseNode(node: str, now: float) -> Deferred[list[RequestRecord]]:
        """Make every request that ``node`` was running waiting again, due at once; returns them.

        For a node starting up: what its earlier life left running died with it, and need not
        wait for the lease to end.  Only a node that is running nothing may call it, and node
        names must be unique among the nodes sharing a store."""


class IStore(IEntityStore, IRequestStore, IPubSubStore, INoteStore, IAnswerStore,
             IForwardStore):
    """Everything a backend keeps: the one object the service opens, wires and closes."""
