"""The PostgreSQL enrolment unit of work, on enrolment's real migrations, held to the shared contract."""

import uuid

import pytest

from services.enrolment.bootstrap import SPEC
from services.enrolment.service_layer.unit_of_work import PostgresEnrolmentUnitOfWork
from shared import eventstore
from shared.db import create_pool, migrate
from tests.contracts.enrolment import EnrolmentUnitOfWorkContract


class TestPostgresEnrolmentUnitOfWork(EnrolmentUnitOfWorkContract):
    @pytest.fixture
    async def uow(self, dsn):
        schema = f"enrolment_{uuid.uuid4().hex[:10]}"  # a fresh schema per test: empty tables and store
        pool = await create_pool(dsn, schema, max_size=4)
        await migrate(pool, schema, SPEC.migration_files())
        yield PostgresEnrolmentUnitOfWork(pool, eventstore.PostgresEventStore(pool, schema))
        await pool.close()
