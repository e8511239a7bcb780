"""Every store contract, kept by the memory store."""

from __future__ import annotations

from zope.interface.verify import verifyObject

from occi_twisted.model import Registry
from occi_twisted.store.interface import IStore
from occi_twisted.store.memory import MemoryStore

from .answers_contract import AnswerContract
from .backends import InMemory
from .contract import EntityContract
from .events_contract import EventContract
from .forwards_contract import ForwardContract
from .notes_contract import NoteContract
from .quotas_contract import QuotaContract
from .requests_contract import RequestContract
from .subscriptions_contract import SubscriptionContract


def test_provides_i_store() -> None:
    assert verifyObject(IStore, MemoryStore(Registry.standard()))


class TestEntities(InMemory, EntityContract):
    pass


class TestQuotas(InMemory, QuotaContract):
    pass


class TestRequests(InMemory, RequestContract):
    pass


class TestEvents(InMemory, EventContract):
    pass


class TestSubscriptions(InMemory, SubscriptionContract):
    pass


class TestNotes(InMemory, NoteContract):
    pass


class TestAnswers(InMemory, AnswerContract):
    pass


class TestForwards(InMemory, ForwardContract):
    pass
