"""The store contract kept by the PostgreSQL store, and what only several nodes on one
database show: events in commit order, notifications across nodes, locks across nodes."""

from __future__ import annotations

from zope.interface.verify import verifyObject

from occi_twisted.model import Registry
from occi_twisted.store.interface import IStore
from occi_twisted.store.postgres import PostgresStore

from .answers_contract import AnswerContract
from .backends import InPostgres
from .contract import EntityContract
from .events_contract import EventContract
from .notes_contract import NoteContract
from .quotas_contract import QuotaContract
from .requests_contract import RequestContract
from .subscriptions_contract import SubscriptionContract


def test_provides_i_store() -> None:
    assert verifyObject(IStore, PostgresStore("postgresql://unused/x", Registry.standard(),
                                              None))


class TestEntities(InPostgres, EntityContract):
    pass


class TestQuotas(InPostgres, QuotaContract):
    pass


class TestRequests(InPostgres, RequestContract):
    pass


class TestEvents(InPostgres, EventContract):
    pass


class TestSubscriptions(InPostgres, SubscriptionContract):
    pass


class TestNotes(InPostgres, NoteContract):
    pass


class TestAnswers(InPostgres, AnswerContract):
    pass
