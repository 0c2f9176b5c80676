import pytest

from tests.conftest import _child_env
from tests.support.infra import store_fixtures
from tests.support.services import ServiceProcess, service_env

# The end-to-end tests' own database and topics: the audit reads the whole log back (`tandem verify`, the erasure
# scans), so no event another test wrote may be in it, whichever tests ran first on this worker.
e2e_store, dsn, kafka = store_fixtures("e2e", scope="package")


@pytest.fixture(scope="package")
def platform(infra, dsn, kafka, tmp_path_factory):
    """The four services as separate processes, shared by the end-to-end tests; each one's log in a file, so a
    test can search what they logged (issue #19: no personal data in any log line)."""
    env = service_env(_child_env(dsn, kafka))
    logs = tmp_path_factory.mktemp("platform-logs")
    running = {
        name: ServiceProcess(name, env, log_path=str(logs / f"{name}.log")).start()
        for name in ("enrolment", "matching", "sessions", "insights")
    }
    yield running
    assert [s.stop() for s in running.values()] == [0, 0, 0, 0], "every service stops cleanly on SIGTERM"


@pytest.fixture(scope="package")
def sent(platform):
    """A program driven through its whole lifecycle; what the test sent, to compute expected figures from."""
    from tests.e2e import lifecycle

    return lifecycle.run({name: service.url for name, service in platform.items()})
