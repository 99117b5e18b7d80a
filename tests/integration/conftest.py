"""pytest fixtures: a fresh presenced per test and an admin client for it."""

import pytest

from presenced_fixture import ADMIN_PASSWORD, Client, Presenced


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
