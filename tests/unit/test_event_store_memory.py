import pytest

from shared.eventstore import InMemoryEventStore
from tests.contracts.event_store import EventStoreContract, events


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryEventStore:
        return InMemoryEventStore()


async def test_restoring_a_snapshot_forgets_the_appends_after_it():
    store = InMemoryEventStore()
    await store.append("s1", 0, events("s1", 1))
    saved = store.snapshot()
    await store.append("s1", 1, events("s1", 1))
    store.restore(saved)
    assert [e.version for e in await store.read_stream("s1")] == [1]
