"""Client sessions over the API: login and logout states (FreePBX start/end-of-session status,
Unaric's logout state), and a session whose lease lapses counting as a logout."""

import time

from presenced_fixture import Client


def presence(client, user):
    answer = client.get("/api/v1/users/%s/presence" % user)
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def test_login_and_logout_states_follow_an_api_session(admin):
    admin.add_user("alice", password="alice-password")
    answer = admin.patch("/api/v1/users/alice", {"login_state": "Busy", "logout_state": "Away"})
    assert answer.status_code == 200, answer.text
    alice = Client(admin.url).login("alice", "alice-password")

    opened = alice.post("/api/v1/users/alice/sessions", {"client_id": "desktop", "ttl_s": 60})
    assert opened.status_code == 200, opened.text
    assert opened.json()["client_id"] == "desktop"
    assert wait_for(lambda: presence(admin, "alice")["availability"] == "Busy", 2)

    closed = alice.delete("/api/v1/users/alice/sessions/desktop")
    assert closed.status_code == 204, closed.text
    assert wait_for(lambda: presence(admin, "alice")["availability"] == "Away", 2)


def test_a_session_whose_lease_lapses_is_a_logout(admin):
    admin.add_user("bob", password="bob-password")
    answer = admin.patch("/api/v1/users/bob", {"logout_state": "BeRightBack"})
    assert answer.status_code == 200, answer.text
    bob = Client(admin.url).login("bob", "bob-password")
    opened = bob.post("/api/v1/users/bob/sessions", {"client_id": "phone-app", "ttl_s": 10})
    assert opened.status_code == 200, opened.text
    assert presence(admin, "bob")["availability"] == "Available"

    # No renewal, no DELETE: the lease runs out after 10 s and the logout state applies.
    lapsed = wait_for(lambda: presence(admin, "bob")["availability"] == "BeRightBack", 14)
    assert lapsed, presence(admin, "bob")
    layers = admin.get("/api/v1/users/bob/layers")
    assert layers.status_code == 200, layers.text
    assert "phone-app" not in layers.text


def test_renewing_a_session_keeps_it(admin):
    admin.add_user("carol", password="carol-password")
    carol = Client(admin.url).login("carol", "carol-password")
    for _ in range(3):
        renewed = carol.post("/api/v1/users/carol/sessions", {"client_id": "web", "ttl_s": 10})
        assert renewed.status_code == 200, renewed.text
        time.sleep(4)
    assert presence(admin, "carol")["availability"] == "Available"
