"""pytest fixtures: a fresh presenced per test and an admin client for it."""

import pytest

from presenced_fixture import ADMIN_PASSWORD, Client, Presenced
from postgres_server import PostgresServer


@pytest.fixture
def server(tmp_path):
    presenced = Presenced(tmp_path / "data")
    yield presenced
    presenced.kill()


@pytest.fixture
def admin(server):
    return Client(server.url).login("admin", ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def shared(tmp_path_factory, request):
    """One presenced for a whole test module, for tests that need no clean slate."""
    presenced = Presenced(tmp_path_factory.mktemp(request.module.__name__) / "data")
    yield presenced
    presenced.kill()


@pytest.fixture(scope="module")
def root(shared):
    """The admin of the module's shared server."""
    return Client(shared.url).login("admin", ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session, started on first use."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store_args(request):
    """presenced's flags for each store: the embedded one, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return []
    return ["--postgres", request.getfixturevalue("postgres").new_database()]
