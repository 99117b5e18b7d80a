"""Client sessions over the API: login and logout states (FreePBX start/end-of-session status,
Unaric's logout state), and a session whose lease lapses counting as a logout."""

import time

from presenced_fixture import Client, poll


def presence(client, user):
    answer = client.get("/api/v1/users/%s/presence" % user)
    assert answer.status_code == 200, answer.text
    return answer.json()




def availability(client, user, expected, timeout):
    """The user's availability once it is `expected`, or the last one read after timeout."""
    return poll(lambda: presence(client, user)["availability"], lambda a: a == expected, timeout)


def test_login_and_logout_states_follow_an_api_session(admin):
    admin.add_user("alice", password="alice-password")
    answer = admin.patch("/api/v1/users/alice", {"login_state": "Busy", "logout_state": "Away"})
    assert answer.status_code == 200, answer.text
    alice = Client(admin.url).login("alice", "alice-password")

    opened = alice.post("/api/v1/users/alice/sessions", {"client_id": "desktop", "ttl_s": 60})
    assert opened.status_code == 200, opened.text
    assert opened.json()["client_id"] == "desktop"
    assert availability(admin, "alice", "Busy", 2) == "Busy"

    closed = alice.delete("/api/v1/users/alice/sessions/desktop")
    assert closed.status_code == 204, closed.text
    assert availability(admin, "alice", "Away", 2) == "Away"


def test_a_session_whose_lease_lapses_is_a_logout(admin):
    admin.add_user("bob", password="bob-password")
    answer = admin.patch("/api/v1/users/bob", {"logout_state": "BeRightBack"})
    assert answer.status_code == 200, answer.text
    bob = Client(admin.url).login("bob", "bob-password")
    opened = bob.post("/api/v1/users/bob/sessions", {"client_id": "phone-app", "ttl_s": 10})
    assert opened.status_code == 200, opened.text
    assert presence(admin, "bob")["availability"] == "Available"

    # No renewal, no DELETE: the lease runs out after 10 s and the logout state applies.
    assert availability(admin, "bob", "BeRightBack", 14) == "BeRightBack"
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
