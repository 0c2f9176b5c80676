"""The data keys a unit of work destroys, reached the same way on either backend (the contracts' erasure tests)."""

from __future__ import annotations

from typing import Any

from shared.keys import Db, KeyStore
from shared.uow import InMemoryUnitOfWork


def key_store(uow: Any) -> tuple[KeyStore, Db]:
    """The store of the data keys `uow` destroys, and what it is reached through."""
    return (uow.keys, None) if isinstance(uow, InMemoryUnitOfWork) else (uow.store.keys, uow.pool)
