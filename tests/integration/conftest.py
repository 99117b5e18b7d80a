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
