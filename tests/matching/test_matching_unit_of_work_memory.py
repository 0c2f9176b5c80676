"""Matching's in-memory unit of work held to the contract its PostgreSQL twin keeps (no servers)."""

import pytest

from services.matching.service_layer.unit_of_work import InMemoryMatchingUnitOfWork, MatchingState
from tests.contracts.matching_unit_of_work import MatchingUnitOfWorkContract


class TestInMemoryMatchingUnitOfWork(MatchingUnitOfWorkContract):
    @pytest.fixture
    def uow(self) -> InMemoryMatchingUnitOfWork:
        return InMemoryMatchingUnitOfWork(MatchingState())
