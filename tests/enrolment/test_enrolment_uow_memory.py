"""The in-memory enrolment unit of work keeps the contract of the PostgreSQL one (server-free)."""

import pytest

from services.enrolment.service_layer.unit_of_work import InMemoryEnrolmentUnitOfWork
from tests.contracts.enrolment import EnrolmentUnitOfWorkContract


class TestInMemoryEnrolmentUnitOfWork(EnrolmentUnitOfWorkContract):
    @pytest.fixture
    def uow(self) -> InMemoryEnrolmentUnitOfWork:
        return InMemoryEnrolmentUnitOfWork()
