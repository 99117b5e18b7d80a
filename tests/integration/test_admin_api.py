"""The routes beyond the stable contract, against the real presenced: the directory (me, users,
groups, devices, contacts), API keys, admin-defined states, sessions and input, visibility
policy, layers, bulk presence, the OpenAPI document and Prometheus metrics.
"""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

from presenced_fixture import (ADMIN_PASSWORD, USER_PASSWORD, Client, Watcher, assert_error,
                               from_now, new_user, parse_time, poll, rfc3339, user_ids)

PASSWORD = USER_PASSWORD


def presence(client, user):
    answer = client.get("/api/v1/users/%s/presence" % user)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user"] == user and isinstance(body["sequence"], int), body
    return body


def put_manual(client, user, **body):
    return client.put("/api/v1/users/%s/presence/manual" % user, body)


def check_user(body, user_id, role):
    assert body["id"] == user_id, body
    assert body["role"] == role, body
    assert isinstance(body["display_name"], str) and body["display_name"], body
    assert isinstance(body["groups"], list), body
    assert isinstance(body["has_sip_password"], bool), body
    assert "password" not in body and "password_hash" not in body, body
    assert "sip_password" not in body, body
    return body


# ---- me and users ----

def test_me(shared, root):
    answer = root.get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    check_user(answer.json(), "admin", "admin")
    user_id, client = new_user(root)
    check_user(client.get("/api/v1/me").json(), user_id, "user")
    assert_error(requests.get(shared.url + "/api/v1/me", timeout=5), 401, "unauthenticated")


def test_list_users_is_sorted_and_searchable(shared, root):
    first, client = new_user(root, prefix="zed", display_name="Zed Someone")
    second, _ = new_user(root, prefix="yan", display_name="Yan Other")
    for reader in (root, client):  # the directory is visible to every user
        answer = reader.get("/api/v1/users")
        assert answer.status_code == 200, answer.text
        ids = [u["id"] for u in answer.json()["users"]]
        assert ids == sorted(ids)
        assert {"admin", first, second} <= set(ids)
    found = root.get("/api/v1/users", params={"q": first}).json()["users"]
    assert [u["id"] for u in found] == [first]
    assert found[0]["display_name"] == "Zed Someone"
    by_name = root.get("/api/v1/users", params={"q": "Yan Oth"}).json()["users"]
    assert [u["id"] for u in by_name] == [second]
    assert root.get("/api/v1/users", params={"q": "no-such-one"}).json() == {"users": []}


def test_get_user(shared, root):
    user_id, client = new_user(root, sip_password="sip-1", display_name="Gert G")
    for reader in (root, client):
        answer = reader.get("/api/v1/users/" + user_id)
        assert answer.status_code == 200, answer.text
        body = check_user(answer.json(), user_id, "user")
        assert body["display_name"] == "Gert G" and body["has_sip_password"] is True
        assert body["settings"]["idle_minutes"] == 5
    assert_error(root.get("/api/v1/users/ghost"), 404, "not_found")


def test_user_ids_may_hold_dots_at_signs_and_plus(shared, root):
    user_id = "dora.k+%d@example.org" % next(user_ids)
    root.add_user(user_id, password=PASSWORD)
    for path in (user_id, user_id.replace("@", "%40").replace("+", "%2B")):
        answer = root.get("/api/v1/users/%s/presence" % path)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["user"] == user_id
    assert root.get("/api/v1/users/" + user_id).json()["id"] == user_id
    assert_error(root.post("/api/v1/users", {"id": "bad id", "display_name": "B",
                                             "password": PASSWORD, "role": "user"}),
                 400, "invalid_argument")
    assert_error(root.post("/api/v1/users", {"id": "x" * 129, "display_name": "B",
                                             "password": PASSWORD, "role": "user"}),
                 400, "invalid_argument")


def test_patch_user_by_self(shared, root):
    user_id, client = new_user(root)
    answer = client.patch("/api/v1/users/" + user_id,
                          {"display_name": "New Name", "idle_minutes": 15,
                           "password": "new-password-1"})
    assert answer.status_code == 200, answer.text
    body = check_user(answer.json(), user_id, "user")
    assert body["display_name"] == "New Name" and body["settings"]["idle_minutes"] == 15
    assert root.get("/api/v1/users/" + user_id).json()["display_name"] == "New Name"
    assert_error(Client(shared.url).post("/api/v1/auth/token",
                                         {"username": user_id, "password": PASSWORD}),
                 401, "unauthenticated")
    Client(shared.url).login(user_id, "new-password-1")


def test_patch_user_permissions(shared, root):
    user_id, client = new_user(root)
    other, other_client = new_user(root)
    assert_error(client.patch("/api/v1/users/" + user_id, {"role": "admin"}), 403,
                 "permission_denied")
    assert_error(client.patch("/api/v1/users/" + user_id, {"groups": ["x"]}), 403,
                 "permission_denied")
    assert_error(other_client.patch("/api/v1/users/" + user_id, {"display_name": "Hacked"}), 403,
                 "permission_denied")
    assert root.get("/api/v1/users/" + user_id).json()["role"] == "user"
    answer = root.patch("/api/v1/users/" + user_id, {"role": "system"})
    assert answer.status_code == 200 and answer.json()["role"] == "system", answer.text
    assert client.get("/api/v1/me").json()["role"] == "system"
    assert_error(root.patch("/api/v1/users/ghost", {"display_name": "G"}), 404, "not_found")


@pytest.mark.parametrize("body", [
    {"idle_minutes": 0}, {"idle_minutes": 2000}, {"idle_minutes": "5"}, {"role": "root"},
    {"display_name": ""}, {"display_name": 3}, {"login_state": "NoSuchState"}])
def test_patch_user_invalid(shared, root, body):
    user_id, _ = new_user(root)
    assert_error(root.patch("/api/v1/users/" + user_id, body), 400, "invalid_argument")
    assert root.get("/api/v1/users/" + user_id).json()["settings"]["idle_minutes"] == 5


def test_login_and_logout_states(shared, root):
    user_id, client = new_user(root)
    answer = client.patch("/api/v1/users/" + user_id,
                          {"login_state": "Busy", "logout_state": "Away"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["settings"]["login_state"] == "Busy"
    ws = Watcher(shared, client.token)
    try:
        body = poll(lambda: presence(root, user_id), lambda p: p["availability"] == "Busy")
        assert body["availability"] == "Busy" and body["state"] == "Busy", body
    finally:
        ws.close()
    body = poll(lambda: presence(root, user_id), lambda p: p["availability"] == "Away")
    assert body["availability"] == "Away" and body["state"] == "Away", body


def test_delete_user(shared, root):
    user_id, client = new_user(root)
    _, other = new_user(root)
    assert_error(other.delete("/api/v1/users/" + user_id), 403, "permission_denied")
    assert_error(client.delete("/api/v1/users/" + user_id), 403, "permission_denied")
    answer = root.delete("/api/v1/users/" + user_id)
    assert answer.status_code == 204 and answer.text == ""
    assert_error(root.get("/api/v1/users/" + user_id), 404, "not_found")
    assert_error(root.get("/api/v1/users/%s/presence" % user_id), 404, "not_found")
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    assert user_id not in [u["id"] for u in root.get("/api/v1/users").json()["users"]]
    assert_error(root.delete("/api/v1/users/" + user_id), 404, "not_found")
    # The id is free again.
    root.add_user(user_id, password=PASSWORD)
    assert presence(root, user_id)["availability"] == "Offline"


def test_auth_token_delete_revokes_it(shared, root):
    user_id, client = new_user(root)
    second = root.as_user(user_id, PASSWORD)
    answer = client.delete("/api/v1/auth/token")
    assert answer.status_code == 204
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    assert second.get("/api/v1/me").json()["id"] == user_id  # only that token


# ---- API keys ----

def test_apikey_is_a_bearer_token_for_telephony(shared, root):
    pbx, _ = new_user(root, role="system", prefix="pbx")
    user_id, client = new_user(root)
    answer = root.post("/api/v1/apikeys", {"user": pbx, "label": "asterisk-1", "days": 30})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["user"] == pbx and body["label"] == "asterisk-1"
    assert isinstance(body["token"], str) and len(body["token"]) >= 16
    expires = parse_time(body["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(days=29) < expires <= timedelta(days=30, minutes=1)
    key = Client(shared.url, body["token"])
    assert key.get("/api/v1/me").json()["id"] == pbx
    answer = key.post("/api/v1/telephony/events", {
        "user": user_id, "device": "desk", "call_id": "k1", "state": "connected",
        "direction": "inbound"})
    assert answer.status_code == 202, answer.text
    body = poll(lambda: presence(client, user_id), lambda p: "call" in p["flags"])
    assert body["availability"] == "Busy" and body["activity"] == "InACall", body
    decision = key.post("/api/v1/routing/decide", {"callee": user_id, "caller": "100"})
    assert decision.status_code == 200 and decision.json()["action"] in {"ring", "busy"}


def test_apikey_defaults_and_errors(shared, root):
    pbx, pbx_client = new_user(root, role="system")
    answer = root.post("/api/v1/apikeys", {"user": pbx, "label": "default"})
    assert answer.status_code == 201, answer.text
    expires = parse_time(answer.json()["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(days=364) < expires <= timedelta(days=366)
    assert_error(pbx_client.post("/api/v1/apikeys", {"user": pbx, "label": "x"}), 403,
                 "permission_denied")
    assert_error(root.post("/api/v1/apikeys", {"user": "ghost", "label": "x"}), 404, "not_found")
    assert_error(root.post("/api/v1/apikeys", {"user": pbx}), 400, "invalid_argument")
    assert_error(root.post("/api/v1/apikeys", {"user": pbx, "label": "x", "days": 0}), 400,
                 "invalid_argument")


def test_apikeys_are_listed_without_tokens_and_revoked_at_once(shared, root):
    pbx, pbx_client = new_user(root, role="system", prefix="pbx")
    created = root.post("/api/v1/apikeys", {"user": pbx, "label": "asterisk-2", "days": 7}).json()
    key = Client(shared.url, created["token"])
    assert key.get("/api/v1/me").json()["id"] == pbx
    answer = root.get("/api/v1/apikeys")
    assert answer.status_code == 200, answer.text
    listed = {k["id"]: k for k in answer.json()["api_keys"] if k["user"] == pbx}
    # The fixture's key and this one; the sign-in token of pbx_client is no API key, and the
    # token itself is never shown again.
    assert sorted(k["label"] for k in listed.values()) == ["asterisk-2", "tests"]
    assert listed[created["id"]] == {"id": created["id"], "user": pbx, "label": "asterisk-2",
                                     "expires_at": created["expires_at"]}
    assert created["token"] not in answer.text and len(created["id"]) == 16
    assert_error(pbx_client.get("/api/v1/apikeys"), 403, "permission_denied")
    assert_error(pbx_client.delete("/api/v1/apikeys/" + created["id"]), 403, "permission_denied")
    assert_error(root.post("/api/v1/apikeys", {"user": pbx, "label": "login"}), 400,
                 "invalid_argument")

    assert root.delete("/api/v1/apikeys/" + created["id"]).status_code == 204
    assert_error(key.get("/api/v1/me"), 401, "unauthenticated")
    assert pbx_client.get("/api/v1/me").json()["id"] == pbx  # sign-in tokens stay
    assert all(k["id"] != created["id"] for k in root.get("/api/v1/apikeys").json()["api_keys"])
    assert_error(root.delete("/api/v1/apikeys/" + created["id"]), 404, "not_found")
    assert_error(root.delete("/api/v1/apikeys/short"), 404, "not_found")


# ---- groups ----

def test_groups_crud(shared, root):
    group = "sales%d" % next(user_ids)
    answer = root.put("/api/v1/groups/" + group, {"id": group, "display_name": "Sales"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": group, "display_name": "Sales"}
    member, client = new_user(root)
    assert root.patch("/api/v1/users/" + member, {"groups": [group]}).status_code == 200
    listed = client.get("/api/v1/groups")
    assert listed.status_code == 200, listed.text
    entry = next(g for g in listed.json()["groups"] if g["id"] == group)
    assert entry["display_name"] == "Sales" and entry["members"] == [member], entry
    assert entry["display"]["color"] == "grey", entry
    assert root.get("/api/v1/users/" + member).json()["groups"] == [group]
    assert_error(client.put("/api/v1/groups/x" + group, {"id": "x" + group}), 403,
                 "permission_denied")
    assert_error(client.delete("/api/v1/groups/" + group), 403, "permission_denied")
    assert root.delete("/api/v1/groups/" + group).status_code == 204
    assert group not in [g["id"] for g in root.get("/api/v1/groups").json()["groups"]]
    assert root.get("/api/v1/users/" + member).json()["groups"] == []
    assert_error(root.delete("/api/v1/groups/" + group), 404, "not_found")


# ---- states ----

BUILT_IN = ["Available", "Busy", "DoNotDisturb", "BeRightBack", "Away", "Offline"]


def test_states_list_has_the_built_in_states(shared, root):
    _, client = new_user(root)
    answer = client.get("/api/v1/states")
    assert answer.status_code == 200, answer.text
    states = {s["id"]: s for s in answer.json()["states"]}
    assert set(BUILT_IN) <= set(states)
    for state_id in BUILT_IN:
        assert states[state_id]["built_in"] is True, states[state_id]
        assert states[state_id]["type"] in {"available", "chat", "away", "dnd", "xa",
                                            "unavailable"}
    assert states["Offline"]["availability"] == "Offline"
    assert states["DoNotDisturb"]["availability"] == "DoNotDisturb"


FREEPBX_TYPES = {
    "available": ("Available", "Available"),
    "chat": ("Available", "Available"),
    "away": ("Away", "Away"),
    "dnd": ("DoNotDisturb", "DoNotDisturb"),
    "xa": ("Away", "OutOfOffice"),
    "unavailable": ("Offline", "OffWork"),
}


@pytest.mark.parametrize("state_type", sorted(FREEPBX_TYPES))
def test_admin_defined_state_of_each_type(shared, root, state_type):
    state_id = "s%s%d" % (state_type, next(user_ids))
    answer = root.put("/api/v1/states/" + state_id,
                      {"id": state_id, "type": state_type, "message": "msg " + state_type,
                       "order": 7})
    assert answer.status_code == 200, answer.text
    availability, activity = FREEPBX_TYPES[state_type]
    body = answer.json()
    assert body["id"] == state_id and body["type"] == state_type, body
    assert body["availability"] == availability and body["activity"] == activity, body
    assert body["built_in"] is False and body["message"] == "msg " + state_type, body
    listed = {s["id"]: s for s in root.get("/api/v1/states").json()["states"]}
    assert listed[state_id] == body
    user_id, client = new_user(root)
    ws = Watcher(shared, client.token)  # signed in, so "unavailable" is a real change
    try:
        answer = put_manual(client, user_id, state=state_id)
        assert answer.status_code == 200, answer.text
        seen = presence(root, user_id)
        assert seen["availability"] == availability and seen["activity"] == activity, seen
        assert seen["state"] == state_id and seen["note"] == "msg " + state_type, seen
    finally:
        ws.close()


def test_states_update_delete_and_errors(shared, root):
    state_id = "meeting%d" % next(user_ids)
    assert root.put("/api/v1/states/" + state_id,
                    {"id": state_id, "type": "away"}).status_code == 200
    user_id, client = new_user(root)
    ws = Watcher(shared, client.token)
    try:
        assert put_manual(client, user_id, state=state_id).json()["availability"] == "Away"
        # Changing the definition changes the presence of users in that state.
        answer = root.put("/api/v1/states/" + state_id, {"id": state_id, "type": "dnd"})
        assert answer.status_code == 200 and answer.json()["availability"] == "DoNotDisturb"
        body = poll(lambda: presence(root, user_id),
                    lambda p: p["availability"] == "DoNotDisturb")
        assert body["availability"] == "DoNotDisturb", body
        # Deleting it: the manual layer says nothing any more; the state is unknown.
        assert root.delete("/api/v1/states/" + state_id).status_code == 204
        body = poll(lambda: presence(root, user_id), lambda p: p["availability"] == "Available")
        assert body["availability"] == "Available" and "state" not in body, body
        assert state_id not in [s["id"] for s in root.get("/api/v1/states").json()["states"]]
        assert_error(put_manual(client, user_id, state=state_id), 400, "invalid_argument")
    finally:
        ws.close()
    assert_error(root.delete("/api/v1/states/" + state_id), 404, "not_found")
    assert_error(root.put("/api/v1/states/Busy", {"id": "Busy", "type": "away"}), 409, "conflict")
    assert_error(root.put("/api/v1/states/x1", {"id": "x1", "type": "asleep"}), 400,
                 "invalid_argument")
    assert_error(root.put("/api/v1/states/x2", {"id": "x3", "type": "away"}), 400,
                 "invalid_argument")
    assert_error(client.put("/api/v1/states/x4", {"id": "x4", "type": "away"}), 403,
                 "permission_denied")
    assert_error(client.delete("/api/v1/states/Busy"), 403, "permission_denied")


def test_state_default_flag_one_at_a_time_and_durable(server, admin):
    """The states module's default (seed 002): at most one admin-defined state is offered first."""
    def defaults():
        return [s["id"] for s in admin.get("/api/v1/states").json()["states"] if s["default"]]

    assert defaults() == []
    answer = admin.put("/api/v1/states/lunchbreak", {"type": "away", "message": "Lunch",
                                                     "default": True})
    assert answer.status_code == 200, answer.text
    assert answer.json()["default"] is True
    assert defaults() == ["lunchbreak"]
    # Changing the state without the field keeps it the default.
    assert admin.put("/api/v1/states/lunchbreak", {"type": "away", "order": 3}).json()["default"]
    # A second default is refused and names the first; nothing changes.
    assert admin.put("/api/v1/states/travel", {"type": "xa"}).json()["default"] is False
    error = assert_error(admin.put("/api/v1/states/travel", {"type": "xa", "default": True}),
                         400, "invalid_argument")
    assert "lunchbreak" in error["message"], error
    assert_error(admin.put("/api/v1/states/meet", {"type": "dnd", "default": "yes"}), 400,
                 "invalid_argument")
    assert_error(admin.put("/api/v1/states/Busy", {"type": "dnd", "default": True}), 409)
    assert defaults() == ["lunchbreak"]

    server.restart()
    admin = Client(server.url).login("admin", ADMIN_PASSWORD)
    assert [s for s in admin.get("/api/v1/states").json()["states"] if s["default"]][0]["id"] \
        == "lunchbreak"
    # false clears it; then another may become the default; deleting it clears it too.
    assert admin.put("/api/v1/states/lunchbreak", {"type": "away", "default": False}).json()[
        "default"] is False
    assert admin.put("/api/v1/states/travel", {"type": "xa", "default": True}).status_code == 200
    assert admin.delete("/api/v1/states/travel").status_code == 204
    server.restart()
    admin = Client(server.url).login("admin", ADMIN_PASSWORD)
    states = admin.get("/api/v1/states").json()["states"]
    assert [s["id"] for s in states if s["default"]] == []
    assert admin.put("/api/v1/states/travel", {"type": "xa"}).json()["default"] is False


# ---- devices ----

def test_devices_crud_and_who_may_read_them(shared, root):
    user_id, client = new_user(root)
    other, other_client = new_user(root)
    answer = client.post("/api/v1/users/%s/devices" % user_id,
                         {"device": "desk", "label": "Desk phone"})
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"device": "desk", "label": "Desk phone", "has_sip_password": False}
    assert client.post("/api/v1/users/%s/devices" % user_id,
                       {"device": "desk", "label": "Desk 2"}).status_code == 201
    listed = client.get("/api/v1/users/%s/devices" % user_id)
    assert listed.status_code == 200
    assert listed.json() == {"devices": [{"device": "desk", "label": "Desk 2",
                                          "has_sip_password": False}]}
    # Other users need the team level to see devices.
    assert_error(other_client.get("/api/v1/users/%s/devices" % user_id), 403, "permission_denied")
    assert client.put("/api/v1/users/%s/visibility/%s" % (user_id, other),
                      {"level": "team"}).status_code == 200
    assert other_client.get("/api/v1/users/%s/devices" % user_id).json()["devices"][0][
        "device"] == "desk"
    assert_error(other_client.post("/api/v1/users/%s/devices" % user_id, {"device": "x"}), 403,
                 "permission_denied")
    assert_error(client.post("/api/v1/users/%s/devices" % user_id, {"label": "x"}), 400,
                 "invalid_argument")
    assert client.delete("/api/v1/users/%s/devices/desk" % user_id).status_code == 204
    assert root.get("/api/v1/users/%s/devices" % user_id).json() == {"devices": []}
    assert_error(root.get("/api/v1/users/ghost/devices"), 404, "not_found")


# ---- sessions and input ----

def test_session_lease_and_idle_reports(shared, root):
    user_id, client = new_user(root)
    answer = client.post("/api/v1/users/%s/sessions" % user_id,
                         {"client_id": "desktop", "ttl_s": 60})
    assert answer.status_code == 200, answer.text
    assert answer.json()["client_id"] == "desktop"
    lease = parse_time(answer.json()["lease_until"]) - datetime.now(timezone.utc)
    assert timedelta(seconds=50) < lease <= timedelta(seconds=61)
    body = presence(root, user_id)
    assert body["availability"] == "Available" and "offline" not in body["flags"], body

    answer = client.post("/api/v1/users/%s/input" % user_id,
                         {"client_id": "desktop", "state": "locked"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["availability"] == "AvailableIdle" and "idle" in answer.json()["flags"]
    answer = client.post("/api/v1/users/%s/input" % user_id,
                         {"client_id": "desktop", "state": "active"})
    assert answer.json()["availability"] == "Available" and "idle" not in answer.json()["flags"]
    an_hour_ago = rfc3339(datetime.now(timezone.utc) - timedelta(hours=1))
    answer = client.post("/api/v1/users/%s/input" % user_id,
                         {"client_id": "desktop", "state": "idle", "since": an_hour_ago})
    assert answer.json()["availability"] == "AvailableIdle", answer.text
    assert presence(root, user_id)["activity"] == "Inactive"
    # Busy while idle is BusyIdle.
    assert put_manual(client, user_id, state="Busy").json()["availability"] == "BusyIdle"
    assert client.delete("/api/v1/users/%s/presence/manual" % user_id).status_code == 200

    assert_error(client.post("/api/v1/users/%s/input" % user_id,
                             {"client_id": "laptop", "state": "idle"}), 404, "not_found")
    assert_error(client.post("/api/v1/users/%s/input" % user_id,
                             {"client_id": "desktop", "state": "asleep"}), 400,
                 "invalid_argument")
    answer = client.delete("/api/v1/users/%s/sessions/desktop" % user_id)
    assert answer.status_code == 204
    body = presence(root, user_id)
    assert body["availability"] == "Offline" and "offline" in body["flags"], body


@pytest.mark.parametrize("body", [
    {"client_id": "d", "ttl_s": 5}, {"client_id": "d", "ttl_s": 100000}, {"client_id": "d"},
    {"ttl_s": 60}, {"client_id": "", "ttl_s": 60}, {"client_id": "d", "ttl_s": "60"}])
def test_session_with_an_invalid_body_is_400(shared, root, body):
    user_id, client = new_user(root)
    assert_error(client.post("/api/v1/users/%s/sessions" % user_id, body), 400,
                 "invalid_argument")
    assert presence(root, user_id)["availability"] == "Offline"


def test_sessions_of_another_user_are_403(shared, root):
    user_id, client = new_user(root)
    _, other = new_user(root)
    assert_error(other.post("/api/v1/users/%s/sessions" % user_id,
                            {"client_id": "d", "ttl_s": 60}), 403, "permission_denied")
    assert_error(other.post("/api/v1/users/%s/input" % user_id,
                            {"client_id": "d", "state": "idle"}), 403, "permission_denied")
    assert presence(root, user_id)["availability"] == "Offline"


# ---- contacts ----

def test_contacts(shared, root):
    user_id, client = new_user(root)
    first, _ = new_user(root)
    second, _ = new_user(root)
    assert client.get("/api/v1/users/%s/contacts" % user_id).json() == {"users": []}
    answer = client.put("/api/v1/users/%s/contacts" % user_id, {"users": [first, second, first]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"users": [first, second]}
    assert client.get("/api/v1/users/%s/contacts" % user_id).json() == {"users": [first, second]}
    answer = client.put("/api/v1/users/%s/contacts" % user_id, {"users": [second]})
    assert answer.json() == {"users": [second]}
    assert root.get("/api/v1/users/%s/contacts" % user_id).json() == {"users": [second]}
    assert_error(client.put("/api/v1/users/%s/contacts" % user_id, {"users": ["ghost"]}), 404,
                 "not_found")
    assert_error(client.put("/api/v1/users/%s/contacts" % user_id, {"users": "x"}), 400,
                 "invalid_argument")
    _, other = new_user(root)
    assert_error(other.get("/api/v1/users/%s/contacts" % user_id), 403, "permission_denied")
    assert client.get("/api/v1/users/%s/contacts" % user_id).json() == {"users": [second]}


# ---- visibility: per-user list, reset, policy ----

def test_visibility_list_and_reset(shared, root):
    owner, client = new_user(root)
    watcher, watcher_client = new_user(root)
    assert put_manual(client, owner, state="Busy", note="n").status_code == 200
    assert client.put("/api/v1/users/%s/visibility/%s" % (owner, watcher),
                      {"level": "blocked"}).status_code == 200
    answer = client.get("/api/v1/users/%s/visibility" % owner)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["default_level"] == "business" and body["minimum"] == "blocked", body
    assert body["watchers"] == [{"watcher": watcher, "level": "blocked"}], body
    assert presence(watcher_client, owner)["availability"] == "PresenceUnknown"
    assert client.delete("/api/v1/users/%s/visibility/%s" % (owner, watcher)).status_code == 204
    assert client.get("/api/v1/users/%s/visibility" % owner).json()["watchers"] == []
    seen = presence(watcher_client, owner)
    assert seen["availability"] == "Busy" and seen["note"] == "n", seen
    assert_error(watcher_client.get("/api/v1/users/%s/visibility" % owner), 403,
                 "permission_denied")


def test_visibility_policy(server, admin):
    for user_id in ("alice", "bob"):
        admin.add_user(user_id, password=PASSWORD)
    alice = admin.as_user("alice", PASSWORD)
    bob = admin.as_user("bob", PASSWORD)
    answer = bob.get("/api/v1/visibility/policy")
    assert answer.status_code == 200
    assert answer.json() == {"default_level": "business", "minimum": "blocked"}
    assert put_manual(alice, "alice", state="Busy", note="in the lab").status_code == 200
    assert presence(bob, "alice")["note"] == "in the lab"

    assert_error(bob.put("/api/v1/visibility/policy", {"default_level": "public"}), 403,
                 "permission_denied")
    answer = admin.put("/api/v1/visibility/policy", {"default_level": "public"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"default_level": "public", "minimum": "blocked"}
    seen = presence(bob, "alice")
    assert seen["availability"] == "Busy" and "note" not in seen, seen

    answer = admin.put("/api/v1/visibility/policy", {"minimum": "team"})
    assert answer.json() == {"default_level": "public", "minimum": "team"}
    assert presence(bob, "alice")["note"] == "in the lab"  # raised to team
    # A user may not go below the minimum; the admin may.
    assert_error(alice.put("/api/v1/users/alice/visibility/bob", {"level": "blocked"}), 412,
                 "failed_precondition")
    assert presence(bob, "alice")["availability"] == "Busy"
    assert_error(admin.put("/api/v1/visibility/policy", {"minimum": "everyone"}), 400,
                 "invalid_argument")
    # The policy is stored.
    server.restart()
    admin.url = server.url
    assert admin.get("/api/v1/visibility/policy").json() == {"default_level": "public",
                                                             "minimum": "team"}


# ---- layers and bulk presence ----

def test_layers(shared, root):
    user_id, client = new_user(root)
    until = from_now(600)
    assert put_manual(client, user_id, state="Away", note="walk", until=until).status_code == 200
    assert root.post("/api/v1/telephony/events", {
        "user": user_id, "device": "desk", "call_id": "L1", "state": "ringing",
        "direction": "inbound"}).status_code == 202
    ws = Watcher(shared, client.token)
    try:
        body = poll(lambda: client.get("/api/v1/users/%s/layers" % user_id).json(),
                    lambda b: b["sessions"] != [])
        assert body["manual"]["state"] == "Away" and body["manual"]["note"] == "walk", body
        assert abs(parse_time(body["manual"]["until"]) - parse_time(until)) < timedelta(seconds=1)
        assert [(c["device"], c["call_id"], c["state"], c["direction"])
                for c in body["telephony"]] == [("desk", "L1", "ringing", "inbound")], body
        assert body["calendar"] == []
        assert [s["kind"] for s in body["sessions"]] == ["websocket"], body
        assert body["presence"]["user"] == user_id and "explanation" in body["presence"], body
    finally:
        ws.close()
    assert root.get("/api/v1/users/%s/layers" % user_id).status_code == 200
    _, other = new_user(root)
    assert_error(other.get("/api/v1/users/%s/layers" % user_id), 403, "permission_denied")
    assert_error(root.get("/api/v1/users/ghost/layers"), 404, "not_found")


def test_calendar_layer(shared, root):
    user_id, client = new_user(root)
    start = rfc3339(datetime.now(timezone.utc) - timedelta(minutes=5))
    end = rfc3339(datetime.now(timezone.utc) + timedelta(minutes=30))
    answer = client.put("/api/v1/users/%s/presence/calendar" % user_id, {"appointments": [
        {"id": "m1", "subject": "Planning", "start": start, "end": end, "kind": "busy"}]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["availability"] == "Busy" and body["activity"] == "InAMeeting", body
    assert "appointment" in body["flags"] and body["appointment"]["subject"] == "Planning", body
    assert_error(client.put("/api/v1/users/%s/presence/calendar" % user_id, {"appointments": [
        {"id": "m2", "start": end, "end": start}]}), 400, "invalid_argument")
    _, other = new_user(root)
    assert_error(other.put("/api/v1/users/%s/presence/calendar" % user_id,
                           {"appointments": []}), 403, "permission_denied")
    assert client.put("/api/v1/users/%s/presence/calendar" % user_id,
                      {"appointments": []}).json()["availability"] == "Offline"


def test_bulk_presence(shared, root):
    first, first_client = new_user(root)
    second, second_client = new_user(root)
    reader_id, reader = new_user(root)
    assert put_manual(first_client, first, state="Busy", note="x").status_code == 200
    assert second_client.put("/api/v1/users/%s/visibility/%s" % (second, reader_id),
                             {"level": "blocked"}).status_code == 200
    answer = reader.get("/api/v1/presence", params={"users": "%s,ghost,%s" % (first, second)})
    assert answer.status_code == 200, answer.text
    presences = answer.json()["presences"]
    assert [p["user"] for p in presences] == [first, second]
    assert presences[0]["availability"] == "Busy" and presences[0]["note"] == "x"
    assert presences[0]["sequence"] == presence(root, first)["sequence"]
    assert presences[1]["availability"] == "PresenceUnknown" and presences[1]["flags"] == []
    assert reader.get("/api/v1/presence").json() == {"presences": []}
    assert_error(requests.get(shared.url + "/api/v1/presence?users=" + first, timeout=5), 401,
                 "unauthenticated")


# ---- OpenAPI, metrics, unknown routes ----

CONTRACT_PATHS = {
    "/healthz": ["get"],
    "/api/v1/auth/token": ["post"],
    "/api/v1/users": ["post"],
    "/api/v1/users/{id}/presence": ["get"],
    "/api/v1/users/{id}/presence/manual": ["put", "delete"],
    "/api/v1/users/{id}/visibility/{watcher}": ["put"],
    "/api/v1/telephony/events": ["post"],
    "/api/v1/routing/decide": ["post"],
    "/api/v1/ws": ["get"],
}

SERVED_ROUTES = [
    ("delete", "/api/v1/auth/token"), ("get", "/api/v1/me"), ("get", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"), ("patch", "/api/v1/users/{id}"),
    ("delete", "/api/v1/users/{id}"), ("post", "/api/v1/apikeys"), ("get", "/api/v1/apikeys"),
    ("delete", "/api/v1/apikeys/{id}"), ("get", "/api/v1/presence"),
    ("get", "/api/v1/users/{id}/layers"), ("put", "/api/v1/users/{id}/presence/calendar"),
    ("post", "/api/v1/users/{id}/sessions"), ("post", "/api/v1/users/{id}/input"),
    ("get", "/api/v1/users/{id}/visibility"),
    ("delete", "/api/v1/users/{id}/visibility/{watcher}"),
    ("get", "/api/v1/users/{id}/contacts"), ("put", "/api/v1/users/{id}/contacts"),
    ("get", "/api/v1/users/{id}/devices"), ("post", "/api/v1/users/{id}/devices"),
    ("get", "/api/v1/visibility/policy"), ("put", "/api/v1/visibility/policy"),
    ("get", "/api/v1/groups"), ("put", "/api/v1/groups/{id}"), ("delete", "/api/v1/groups/{id}"),
    ("get", "/api/v1/states"), ("put", "/api/v1/states/{id}"), ("delete", "/api/v1/states/{id}"),
    ("get", "/api/v1/openapi.json"), ("get", "/metrics"),
]


def test_openapi_document(shared, root):
    answer = root.get("/api/v1/openapi.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    document = json.loads(answer.text)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    paths = document["paths"]
    for path, methods in CONTRACT_PATHS.items():
        assert path in paths, path
        for method in methods:
            assert method in paths[path], (path, method)
            assert paths[path][method]["responses"], (path, method)
    for method, path in SERVED_ROUTES:
        assert path in paths and method in paths[path], (method, path)
    # Sessions and devices have a second segment under the user.
    assert any(p.startswith("/api/v1/users/{id}/sessions/") for p in paths)
    assert any(p.startswith("/api/v1/users/{id}/devices/") for p in paths)
    schemas = document["components"]["schemas"]
    for field in ("user", "availability", "activity", "flags", "sequence"):
        assert field in schemas["Presence"]["required"], field
    assert_error(requests.get(shared.url + "/api/v1/openapi.json", timeout=5), 401,
                 "unauthenticated")


def metric(text, name):
    match = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    assert match, name
    return float(match.group(1))


def test_metrics(shared, root):
    assert_error(requests.get(shared.url + "/metrics", timeout=5), 401, "unauthenticated")
    user_id, client = new_user(root)
    ws = Watcher(shared, root.token)
    try:
        ws.subscribe(user_id)
        ws.presence_of(user_id)
        assert put_manual(client, user_id, state="Busy").status_code == 200
        ws.presence_of(user_id, availability="Busy")
        answer = client.get("/metrics")
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.text
        assert metric(text, "presenced_websocket_connections") >= 1
        assert metric(text, "presenced_websocket_connections_total") >= 1
        assert metric(text, "presenced_subscriptions") >= 1
        assert metric(text, "presenced_watchers") >= 1
        assert metric(text, "presenced_presence_changes_total") >= 1
        assert metric(text, "presenced_deliveries_total") >= 2
        assert metric(text, "presenced_websocket_messages_received_total") >= 1
        assert metric(text, "presenced_websocket_messages_sent_total") >= 2
        assert metric(text, "presenced_users") >= 2
        assert re.search(r'^presenced_http_requests_total\{class="2xx"\} [1-9]', text, re.M)
        assert re.search(r'^presenced_http_requests_total\{class="4xx"\} [1-9]', text, re.M)
        assert "# TYPE presenced_fanout_latency_seconds histogram" in text
        buckets = re.findall(r'^presenced_fanout_latency_seconds_bucket\{le="([^"]+)"\} (\d+)$',
                             text, re.M)
        assert len(buckets) >= 2 and buckets[-1][0] == "+Inf", buckets
        counts = [int(c) for _, c in buckets]
        assert counts == sorted(counts) and counts[-1] >= 1, buckets
        assert metric(text, "presenced_fanout_latency_seconds_count") == counts[-1]
        assert metric(text, "presenced_fanout_latency_seconds_sum") > 0
        for line in text.splitlines():
            assert line.startswith("#") or re.match(r"^[a-z_]+(\{[^}]*\})? \S+$", line), line
    finally:
        ws.close()


def test_unknown_route_is_404_and_wrong_method_405(shared, root):
    assert_error(root.get("/api/v1/nothing-here"), 404, "not_found")
    answer = root.request("POST", "/api/v1/me")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"]
    assert root.request("PATCH", "/api/v1/users/admin/presence").status_code == 405


def test_states_and_groups_take_their_id_from_the_path(shared, root):
    """As the OpenAPI document shows: the body need not repeat the id; if it does, it must match."""
    answer = root.put("/api/v1/states/away-from-path", {"type": "away", "message": "Out"})
    assert answer.status_code == 200, answer.text
    listed = {s["id"]: s for s in root.get("/api/v1/states").json()["states"]}
    assert listed["away-from-path"]["message"] == "Out", listed.get("away-from-path")
    assert_error(root.put("/api/v1/states/one", {"id": "other", "type": "away"}), 400)

    answer = root.put("/api/v1/groups/group-from-path", {"display_name": "Path group"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": "group-from-path", "display_name": "Path group"}
    assert_error(root.put("/api/v1/groups/one", {"id": "other"}), 400)
    assert_error(root.put("/api/v1/groups/a,b", {}), 400)
