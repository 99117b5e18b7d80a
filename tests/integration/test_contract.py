"""The stable HTTP contract (API-CONTRACT.md) against the real presenced.

Every route, status code and body field of the contract has a test here that checks the status
and the body. Most tests share one server per module and give themselves fresh user ids; tests
that restart the server, stop it or change global settings get their own (`server`, `admin`).
"""

import os
import json
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import websocket

from presenced_fixture import (ADMIN_PASSWORD, USER_PASSWORD, Client, Presenced, Watcher,
                               assert_error, drain, from_now, new_user, parse_time, poll, rfc3339,
                               user_ids)

AVAILABILITIES = {"Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle",
                  "DoNotDisturb", "Offline", "PresenceUnknown"}
ACTIVITIES = {"Available", "Away", "BeRightBack", "Busy", "DoNotDisturb", "InACall",
              "InAConferenceCall", "Inactive", "InAMeeting", "Offline", "OffWork", "OutOfOffice",
              "PresenceUnknown", "Presenting", "UrgentInterruptionsOnly"}
FLAGS = {"ringing", "call", "conferencing", "appointment", "idle", "offline", "note",
         "after_call_work", "out_of_office"}
PASSWORD = USER_PASSWORD


# ---- helpers ----

def check_presence(body, user):
    """The contract's presence object: user, availability, activity, flags, sequence."""
    assert body["user"] == user, body
    assert body["availability"] in AVAILABILITIES, body
    assert isinstance(body["activity"], str) and body["activity"] in ACTIVITIES, body
    assert isinstance(body["flags"], list), body
    assert set(body["flags"]) <= FLAGS, body
    assert len(set(body["flags"])) == len(body["flags"]), body
    assert isinstance(body["sequence"], int) and not isinstance(body["sequence"], bool), body
    assert body["sequence"] >= 0, body
    if "note" in body:
        assert isinstance(body["note"], str) and body["note"], body
    if "until" in body:
        parse_time(body["until"])
    return body


def presence(client, user):
    answer = client.get("/api/v1/users/%s/presence" % user)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    return check_presence(answer.json(), user)


def put_manual(client, user, **body):
    return client.put("/api/v1/users/%s/presence/manual" % user, body)


def event(admin_or_system, user, device, call_id, state, direction="inbound"):
    answer = admin_or_system.post("/api/v1/telephony/events", {
        "user": user, "device": device, "call_id": call_id, "state": state,
        "direction": direction})
    assert answer.status_code == 202, answer.text
    return answer


def decide(client, callee, caller="+498912345", call_type="direct"):
    return client.post("/api/v1/routing/decide",
                       {"callee": callee, "caller": caller, "type": call_type})


def check_decision(body):
    assert body["action"] in {"ring", "forward", "voicemail", "busy"}, body
    assert isinstance(body["targets"], list), body
    for target in body["targets"]:
        assert isinstance(target["device"], str) and target["device"], body
        assert isinstance(target["delay_s"], int) and target["delay_s"] >= 0, body
    assert isinstance(body["reason"], str) and body["reason"], body
    return body


def signed_in(shared, token):
    """An open WebSocket: a login session of the token's user."""
    return Watcher(shared, token)


# ---- /healthz and tokens ----

def test_healthz_answers_200_without_credentials(shared):
    answer = requests.get(shared.url + "/healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_token_for_good_credentials(shared):
    before = datetime.now(timezone.utc)
    answer = Client(shared.url).post("/api/v1/auth/token",
                                     {"username": "admin", "password": ADMIN_PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body["token"], str) and len(body["token"]) >= 16
    assert parse_time(body["expires_at"]) > before + timedelta(hours=1)
    me = Client(shared.url, body["token"])
    assert presence(me, "admin")["user"] == "admin"


@pytest.mark.parametrize("username,password", [
    ("admin", "wrong"), ("nobody", ADMIN_PASSWORD), ("admin", "secret "), ("admin", "SECRET")])
def test_token_for_bad_credentials_is_401(shared, username, password):
    answer = Client(shared.url).post("/api/v1/auth/token",
                                     {"username": username, "password": password})
    assert_error(answer, 401, "unauthenticated")
    assert "token" not in answer.json()


@pytest.mark.parametrize("raw", [
    "{", "[]", '{"username": 5, "password": "x"}', '{"username": "admin"}'])
def test_token_with_a_malformed_body_is_400(shared, raw):
    answer = Client(shared.url).post("/api/v1/auth/token", raw=raw,
                                     headers={"Content-Type": "application/json"})
    assert_error(answer, 400, "invalid_argument")


CONTRACT_ROUTES = [
    ("POST", "/api/v1/users", {"id": "x1", "display_name": "X", "password": "p", "role": "user"}),
    ("GET", "/api/v1/users/admin/presence", None),
    ("PUT", "/api/v1/users/admin/presence/manual", {"state": "Busy"}),
    ("DELETE", "/api/v1/users/admin/presence/manual", None),
    ("PUT", "/api/v1/users/admin/visibility/admin", {"level": "public"}),
    ("POST", "/api/v1/telephony/events",
     {"user": "admin", "device": "d", "call_id": "c", "state": "ringing", "direction": "inbound"}),
    ("POST", "/api/v1/routing/decide", {"callee": "admin", "caller": "1", "type": "direct"}),
]


@pytest.mark.parametrize("method,path,body", CONTRACT_ROUTES)
def test_every_route_but_healthz_needs_a_bearer_token(shared, root, method, path, body):
    for token in (None, "not-a-token", root.token + "x"):
        answer = Client(shared.url, token).request(method, path, body)
        assert_error(answer, 401, "unauthenticated")
    # Nothing happened: the admin's presence still has no manual state and no call.
    now = presence(root, "admin")
    assert "state" not in now and "ringing" not in now["flags"], now
    assert root.get("/api/v1/users/x1").status_code == 404


def test_a_scheme_other_than_bearer_is_401(shared, root):
    answer = Client(shared.url).get("/api/v1/users/admin/presence",
                                    headers={"Authorization": "Basic YWRtaW46c2VjcmV0"})
    assert_error(answer, 401, "unauthenticated")


# ---- POST /api/v1/users ----

def test_create_user_is_201_and_the_user_can_log_in(shared, root):
    user_id = "carol%d" % next(user_ids)
    answer = root.post("/api/v1/users", {"id": user_id, "display_name": "Carol C",
                                          "password": PASSWORD, "role": "user",
                                          "sip_password": "sip-secret"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["id"] == user_id
    assert body["display_name"] == "Carol C"
    assert body["role"] == "user"
    assert "password" not in body and "sip_password" not in body
    carol = Client(shared.url).login(user_id, PASSWORD)
    assert presence(carol, user_id)["availability"] == "Offline"


@pytest.mark.parametrize("role", ["user", "admin", "system"])
def test_create_user_with_each_role(shared, root, role):
    user_id = "r%d" % next(user_ids)
    answer = root.post("/api/v1/users", {"id": user_id, "display_name": "R", "password": PASSWORD,
                                          "role": role})
    assert answer.status_code == 201, answer.text
    assert answer.json()["role"] == role
    me = Client(shared.url).login(user_id, PASSWORD).get("/api/v1/me")
    assert me.status_code == 200 and me.json()["role"] == role


def test_create_an_existing_user_is_409(shared, root):
    user_id, _ = new_user(root)
    answer = root.post("/api/v1/users", {"id": user_id, "display_name": "Other",
                                          "password": "another", "role": "admin"})
    assert_error(answer, 409, "conflict")
    # The first user is untouched: still a user, still with the first password.
    assert Client(shared.url).login(user_id, PASSWORD).get("/api/v1/me").json()["role"] == "user"
    assert_error(root.post("/api/v1/users", {"id": "admin", "display_name": "A",
                                               "password": "x", "role": "user"}), 409, "conflict")


@pytest.mark.parametrize("role", ["user", "system"])
def test_create_user_by_a_non_admin_is_403(shared, root, role):
    _, caller = new_user(root, role=role)
    target = "nope%d" % next(user_ids)
    answer = caller.post("/api/v1/users", {"id": target, "display_name": "N",
                                            "password": PASSWORD, "role": "admin"})
    assert_error(answer, 403, "permission_denied")
    assert_error(root.get("/api/v1/users/%s/presence" % target), 404, "not_found")


@pytest.mark.parametrize("body", [
    {"id": "bad1", "display_name": "B", "password": "p", "role": "root"},
    {"id": 7, "display_name": "B", "password": "p", "role": "user"},
    {"id": "bad2", "display_name": "B", "password": 5, "role": "user"},
    {"display_name": "B", "password": "p", "role": "user"},
    {"id": "bad3", "display_name": "B", "role": "user"},
])
def test_create_user_with_an_invalid_body_is_400(shared, root, body):
    assert_error(root.post("/api/v1/users", body), 400, "invalid_argument")
    if isinstance(body.get("id"), str):
        assert_error(root.get("/api/v1/users/%s/presence" % body["id"]), 404, "not_found")


# ---- GET /api/v1/users/{id}/presence ----

def test_presence_of_a_new_user_has_the_contract_shape(shared, root):
    user_id, client = new_user(root)
    _, other = new_user(root)
    for reader in (client, other, root):
        body = presence(reader, user_id)
        assert body["availability"] == "Offline", body
        assert body["activity"] in {"Offline", "OffWork"}, body
        assert "offline" in body["flags"], body
        assert "note" not in body and "until" not in body, body


def test_presence_of_an_unknown_user_is_404(shared, root):
    _, client = new_user(root)
    for reader in (client, root):
        error = assert_error(reader.get("/api/v1/users/nosuchuser/presence"), 404, "not_found")
        assert "nosuchuser" in error["message"]


def test_presence_without_a_token_is_401(shared, root):
    user_id, _ = new_user(root)
    answer = requests.get(shared.url + "/api/v1/users/%s/presence" % user_id, timeout=5)
    assert_error(answer, 401, "unauthenticated")


# ---- PUT /api/v1/users/{id}/presence/manual ----

BUILT_IN = {
    "Available": ("Available", {"Available"}),
    "Busy": ("Busy", {"Busy"}),
    "DoNotDisturb": ("DoNotDisturb", {"DoNotDisturb"}),
    "Away": ("Away", {"Away"}),
    "BeRightBack": ("BeRightBack", {"BeRightBack"}),
    "Offline": ("Offline", {"Offline", "OffWork"}),
}


@pytest.mark.parametrize("state", sorted(BUILT_IN))
def test_manual_built_in_state(shared, root, state):
    user_id, client = new_user(root)
    _, other = new_user(root)
    socket_ = signed_in(shared, client.token)  # signed in: Available unless the state says else
    try:
        assert poll(lambda: presence(other, user_id),
                    lambda p: p["availability"] == "Available")["availability"] == "Available"
        answer = put_manual(client, user_id, state=state)
        assert answer.status_code == 200, answer.text
        availability, activities = BUILT_IN[state]
        for body in (check_presence(answer.json(), user_id), presence(other, user_id),
                     presence(root, user_id)):
            assert body["availability"] == availability, body
            assert body["activity"] in activities, body
        assert answer.json()["state"] == state
        if state == "Offline":
            assert "offline" in answer.json()["flags"]
    finally:
        socket_.close()


def test_manual_admin_defined_state(shared, root):
    state_id = "lunch%d" % next(user_ids)
    answer = root.put("/api/v1/states/" + state_id,
                      {"id": state_id, "type": "away", "message": "at lunch"})
    assert answer.status_code == 200, answer.text
    user_id, client = new_user(root)
    _, other = new_user(root)
    answer = put_manual(client, user_id, state=state_id)
    assert answer.status_code == 200, answer.text
    for body in (check_presence(answer.json(), user_id), presence(other, user_id)):
        assert body["availability"] == "Away", body
        assert body["activity"] == "Away", body
        assert body["state"] == state_id, body
        assert body["note"] == "at lunch", body


def test_manual_state_with_note_and_until(shared, root):
    user_id, client = new_user(root)
    _, other = new_user(root)
    until = from_now(3600)
    answer = put_manual(client, user_id, state="Busy", note="back at 3", until=until)
    assert answer.status_code == 200, answer.text
    for body in (check_presence(answer.json(), user_id), presence(other, user_id)):
        assert body["availability"] == "Busy", body
        assert body["note"] == "back at 3", body
        assert "note" in body["flags"], body
        assert abs(parse_time(body["until"]) - parse_time(until)) < timedelta(seconds=1), body


def test_admin_may_set_anyones_manual_state(shared, root):
    user_id, client = new_user(root)
    answer = put_manual(root, user_id, state="Away", note="set by admin")
    assert answer.status_code == 200, answer.text
    assert answer.json()["availability"] == "Away"
    body = presence(client, user_id)
    assert body["availability"] == "Away" and body["note"] == "set by admin", body


def test_until_passes_and_the_state_goes_by_itself(shared, root):
    user_id, client = new_user(root)
    _, other = new_user(root)
    own = signed_in(shared, client.token)
    watcher = Watcher(shared, other.token)
    try:
        watcher.subscribe(user_id)
        watcher.presence_of(user_id, availability="Available")
        until = from_now(2)
        answer = put_manual(client, user_id, state="DoNotDisturb", note="focus", until=until)
        assert answer.status_code == 200, answer.text
        busy = watcher.presence_of(user_id, availability="DoNotDisturb")
        assert busy["note"] == "focus" and "until" in busy, busy
        started = time.monotonic()
        back = watcher.presence_of(user_id, timeout=6, availability="Available")
        assert time.monotonic() - started < 4.0
        assert "until" not in back and "note" not in back and "state" not in back, back
        assert back["sequence"] > busy["sequence"]
        body = presence(other, user_id)
        assert body["availability"] == "Available", body
        assert "until" not in body and "note" not in body and "note" not in body["flags"], body
        assert datetime.now(timezone.utc) >= parse_time(until)
    finally:
        watcher.close()
        own.close()


@pytest.mark.parametrize("until", [
    rfc3339(datetime(2020, 1, 1, tzinfo=timezone.utc)), "past"])
def test_manual_with_an_until_in_the_past_is_400(shared, root, until):
    user_id, client = new_user(root)
    if until == "past":
        until = from_now(-5)
    error = assert_error(put_manual(client, user_id, state="Busy", until=until), 400,
                         "invalid_argument")
    assert "until" in error["message"]
    body = presence(client, user_id)
    assert body["availability"] == "Offline" and "state" not in body, body


@pytest.mark.parametrize("body", [
    {"state": "NoSuchState"}, {"state": "busy"}, {"state": ""}, {"state": 3}, {},
    {"state": "Busy", "note": 5}, {"state": "Busy", "note": "x" * 1025},
    {"state": "Busy", "until": "tomorrow"},
    {"state": "Busy", "until": 1893456000}])
def test_manual_with_an_unknown_state_or_wrong_types_is_400(shared, root, body):
    user_id, client = new_user(root)
    assert_error(client.put("/api/v1/users/%s/presence/manual" % user_id, body), 400,
                 "invalid_argument")
    assert presence(client, user_id)["availability"] == "Offline"


def test_manual_with_malformed_json_is_400(shared, root):
    user_id, client = new_user(root)
    answer = client.put("/api/v1/users/%s/presence/manual" % user_id, raw='{"state": "Busy"',
                        headers={"Content-Type": "application/json"})
    assert_error(answer, 400, "invalid_argument")


@pytest.mark.parametrize("role", ["user", "system"])
def test_manual_of_another_user_is_403(shared, root, role):
    user_id, client = new_user(root)
    _, intruder = new_user(root, role=role)
    assert_error(put_manual(intruder, user_id, state="Busy"), 403, "permission_denied")
    assert_error(intruder.delete("/api/v1/users/%s/presence/manual" % user_id), 403,
                 "permission_denied")
    assert presence(client, user_id)["availability"] == "Offline"


def test_manual_of_an_unknown_user_is_404(shared, root):
    assert_error(put_manual(root, "ghost", state="Busy"), 404, "not_found")
    assert_error(root.delete("/api/v1/users/ghost/presence/manual"), 404, "not_found")


def test_body_over_the_limit_is_413(shared, root):
    user_id, client = new_user(root)
    raw = json.dumps({"state": "Busy", "note": "x" * (1024 * 1024 + 10)})
    try:
        answer = client.put("/api/v1/users/%s/presence/manual" % user_id, raw=raw,
                            headers={"Content-Type": "application/json"})
    except requests.ConnectionError:
        # The server may answer before reading the whole body; read its answer off a socket.
        answer = None
    if answer is None:
        host, port = shared.url[len("http://"):].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(("PUT /api/v1/users/%s/presence/manual HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %d\r\n\r\n" % (user_id, client.token, len(raw))).encode())
            reply = s.recv(65536).decode()
        assert reply.startswith("HTTP/1.1 413"), reply
        assert json.loads(reply.split("\r\n\r\n", 1)[1])["error"]["code"]
    else:
        assert_error(answer, 413)
    assert "state" not in presence(root, user_id)


def test_manual_note_in_utf8_round_trips(shared, root):
    user_id, client = new_user(root)
    _, other = new_user(root)
    ws = Watcher(shared, other.token)
    try:
        ws.subscribe(user_id)
        ws.presence_of(user_id)
        note = "Zur\u00fcck um 3 \u2615 \u2014 \u65e5\u672c \U0001F600"
        answer = put_manual(client, user_id, state="Away", note=note)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["note"] == note
        assert presence(other, user_id)["note"] == note
        assert ws.presence_of(user_id, availability="Away")["note"] == note
    finally:
        ws.close()


def test_manual_until_with_an_offset(shared, root):
    user_id, client = new_user(root)
    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    until = moment.astimezone(timezone(timedelta(hours=2))).isoformat()  # "...+02:00"
    answer = put_manual(client, user_id, state="Busy", until=until)
    assert answer.status_code == 200, answer.text
    assert parse_time(answer.json()["until"]) == moment


@pytest.mark.parametrize("raw", [
    b'{"state": "Busy", "note": "\xff\xfe"}',
    ('{"state": "Busy", "x": ' + "[" * 40 + "]" * 40 + "}").encode(),
    b'{"state": "Busy"} trailing', b"", b"null"])
def test_manual_with_invalid_utf8_or_malformed_json_is_400(shared, root, raw):
    user_id, client = new_user(root)
    answer = client.put("/api/v1/users/%s/presence/manual" % user_id, raw=raw,
                        headers={"Content-Type": "application/json"})
    assert_error(answer, 400, "invalid_argument")
    assert "state" not in presence(root, user_id)


# ---- DELETE /api/v1/users/{id}/presence/manual ----

def test_delete_manual_removes_the_state(shared, root):
    user_id, client = new_user(root)
    _, other = new_user(root)
    own = signed_in(shared, client.token)
    try:
        poll(lambda: presence(other, user_id), lambda p: p["availability"] == "Available")
        set_ = put_manual(client, user_id, state="Busy", note="n", until=from_now(600))
        assert set_.status_code == 200 and set_.json()["availability"] == "Busy"
        answer = client.delete("/api/v1/users/%s/presence/manual" % user_id)
        assert answer.status_code == 200, answer.text
        for body in (check_presence(answer.json(), user_id), presence(other, user_id)):
            assert body["availability"] == "Available", body
            assert "state" not in body and "note" not in body and "until" not in body, body
            assert "note" not in body["flags"], body
        assert answer.json()["sequence"] > set_.json()["sequence"]
    finally:
        own.close()


def test_delete_manual_when_none_is_set_is_200(shared, root):
    user_id, client = new_user(root)
    for caller in (client, root):
        answer = caller.delete("/api/v1/users/%s/presence/manual" % user_id)
        assert answer.status_code == 200, answer.text
        body = check_presence(answer.json(), user_id)
        assert body["availability"] == "Offline" and "state" not in body, body


# ---- PUT /api/v1/users/{id}/visibility/{watcher} ----

@pytest.mark.parametrize("level", ["blocked", "public", "business", "team", "personal"])
def test_visibility_level(shared, root, level):
    owner, owner_client = new_user(root)
    watcher, watcher_client = new_user(root)
    assert put_manual(owner_client, owner, state="Busy", note="secret plan",
                      until=from_now(600)).status_code == 200
    answer = owner_client.put("/api/v1/users/%s/visibility/%s" % (owner, watcher),
                              {"level": level})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"owner": owner, "watcher": watcher, "level": level}
    seen = presence(watcher_client, owner)
    if level == "blocked":
        assert seen["availability"] == "PresenceUnknown", seen
        assert seen["activity"] == "PresenceUnknown", seen
        assert seen["flags"] == [], seen
        assert "note" not in seen and "until" not in seen, seen
    elif level == "public":
        assert seen["availability"] == "Busy", seen
        assert "note" not in seen and "note" not in seen["flags"], seen
    else:
        assert seen["availability"] == "Busy", seen
        assert seen["note"] == "secret plan" and "note" in seen["flags"], seen
    # The owner and an admin still see everything.
    for reader in (owner_client, root):
        full = presence(reader, owner)
        assert full["availability"] == "Busy" and full["note"] == "secret plan", full


def test_visibility_set_by_an_admin(shared, root):
    owner, _ = new_user(root)
    watcher, watcher_client = new_user(root)
    answer = root.put("/api/v1/users/%s/visibility/%s" % (owner, watcher), {"level": "blocked"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["level"] == "blocked"
    assert presence(watcher_client, owner)["availability"] == "PresenceUnknown"


def test_blocked_watcher_sees_presence_unknown_over_get_and_websocket(shared, root):
    owner, owner_client = new_user(root)
    watcher, watcher_client = new_user(root)
    own = signed_in(shared, owner_client.token)
    ws = Watcher(shared, watcher_client.token)
    try:
        assert put_manual(owner_client, owner, state="Busy", note="in the lab",
                          until=from_now(600)).status_code == 200
        ws.subscribe(owner)
        first = ws.presence_of(owner, availability="Busy")
        assert first["note"] == "in the lab", first
        answer = owner_client.put("/api/v1/users/%s/visibility/%s" % (owner, watcher),
                                  {"level": "blocked"})
        assert answer.status_code == 200, answer.text
        hidden = ws.presence_of(owner, timeout=2)
        assert hidden["type"] == "presence"
        assert hidden["availability"] == "PresenceUnknown", hidden
        assert hidden["activity"] == "PresenceUnknown", hidden
        assert hidden["flags"] == [], hidden
        assert "note" not in hidden and "until" not in hidden, hidden
        # Later changes stay hidden, over the socket and over GET.
        assert put_manual(owner_client, owner, state="Away", note="gone").status_code == 200
        for message in drain(ws, 0.5):
            assert message.get("type") == "presence", message
            assert message["availability"] == "PresenceUnknown", message
            assert message["flags"] == [], message
            assert "note" not in message and "until" not in message, message
        seen = presence(watcher_client, owner)
        assert seen["availability"] == "PresenceUnknown" and seen["flags"] == [], seen
        assert "note" not in seen and "until" not in seen, seen
        # A new subscription is hidden too.
        fresh = Watcher(shared, watcher_client.token)
        try:
            fresh.subscribe(owner)
            again = fresh.presence_of(owner)
            assert again["availability"] == "PresenceUnknown" and again["flags"] == [], again
            assert "note" not in again and "until" not in again, again
        finally:
            fresh.close()
        # Unblocking shows the state again at once.
        assert owner_client.put("/api/v1/users/%s/visibility/%s" % (owner, watcher),
                                {"level": "business"}).status_code == 200
        shown = ws.presence_of(owner, timeout=2, availability="Away")
        assert shown["note"] == "gone", shown
    finally:
        ws.close()
        own.close()


@pytest.mark.parametrize("body", [{"level": "secret"}, {"level": 1}, {}, {"level": None}])
def test_visibility_with_an_invalid_level_is_400(shared, root, body):
    owner, owner_client = new_user(root)
    watcher, watcher_client = new_user(root)
    assert put_manual(owner_client, owner, state="Busy").status_code == 200
    assert_error(owner_client.put("/api/v1/users/%s/visibility/%s" % (owner, watcher), body),
                 400, "invalid_argument")
    assert presence(watcher_client, owner)["availability"] == "Busy"


def test_visibility_of_another_user_is_403(shared, root):
    owner, owner_client = new_user(root)
    watcher, watcher_client = new_user(root)
    assert put_manual(owner_client, owner, state="Busy").status_code == 200
    assert_error(watcher_client.put("/api/v1/users/%s/visibility/%s" % (owner, watcher),
                                    {"level": "personal"}), 403, "permission_denied")
    _, system = new_user(root, role="system")
    assert_error(system.put("/api/v1/users/%s/visibility/%s" % (owner, watcher),
                            {"level": "blocked"}), 403, "permission_denied")
    assert presence(watcher_client, owner)["availability"] == "Busy"


def test_visibility_for_an_unknown_user_is_404(shared, root):
    owner, owner_client = new_user(root)
    assert_error(owner_client.put("/api/v1/users/%s/visibility/ghost" % owner,
                                  {"level": "blocked"}), 404, "not_found")
    assert_error(root.put("/api/v1/users/ghost/visibility/%s" % owner, {"level": "blocked"}),
                 404, "not_found")


# ---- POST /api/v1/telephony/events ----

def test_telephony_ringing_call_and_ended(shared, root):
    user_id, client = new_user(root)
    _, pbx = new_user(root, role="system")
    own = signed_in(shared, client.token)
    ws = Watcher(shared, root.token)
    try:
        ws.subscribe(user_id)
        ws.presence_of(user_id, availability="Available")
        answer = event(pbx, user_id, "desk", "call-1", "ringing")
        assert answer.json()["accepted"] is True and answer.json()["user"] == user_id
        ringing = poll(lambda: presence(root, user_id), lambda p: "ringing" in p["flags"])
        assert "ringing" in ringing["flags"] and "call" not in ringing["flags"], ringing
        seen = ws.presence_of(user_id, timeout=1)
        assert "ringing" in seen["flags"], seen

        event(pbx, user_id, "desk", "call-1", "connected")
        in_call = poll(lambda: presence(root, user_id), lambda p: "call" in p["flags"])
        assert in_call["availability"] == "Busy" and in_call["activity"] == "InACall", in_call
        assert "call" in in_call["flags"] and "ringing" not in in_call["flags"], in_call
        seen = ws.wait_for(lambda m: m.get("user") == user_id and "call" in m.get("flags", []),
                           timeout=1)
        assert seen["availability"] == "Busy" and seen["activity"] == "InACall", seen
        assert seen["sequence"] > ringing["sequence"]

        event(pbx, user_id, "desk", "call-1", "ended")
        back = poll(lambda: presence(root, user_id), lambda p: p["availability"] == "Available")
        assert back["availability"] == "Available" and back["activity"] == "Available", back
        assert "call" not in back["flags"] and "ringing" not in back["flags"], back
        ws.presence_of(user_id, timeout=1, availability="Available")
    finally:
        ws.close()
        own.close()


def test_telephony_outbound_call_and_held(shared, root):
    user_id, client = new_user(root)
    event(root, user_id, "mobile", "out-1", "connected", direction="outbound")
    body = poll(lambda: presence(client, user_id), lambda p: "call" in p["flags"])
    assert body["availability"] == "Busy" and body["activity"] == "InACall", body
    event(root, user_id, "mobile", "out-1", "held", direction="outbound")
    body = presence(client, user_id)
    assert body["availability"] == "Busy" and "call" in body["flags"], body
    event(root, user_id, "mobile", "out-1", "ended", direction="outbound")
    body = poll(lambda: presence(client, user_id), lambda p: "call" not in p["flags"])
    assert body["availability"] == "Offline" and "call" not in body["flags"], body


def test_telephony_call_does_not_override_do_not_disturb(shared, root):
    user_id, client = new_user(root)
    own = signed_in(shared, client.token)
    try:
        assert put_manual(client, user_id, state="DoNotDisturb").status_code == 200
        event(root, user_id, "desk", "c-dnd", "ringing")
        body = presence(root, user_id)
        assert body["availability"] == "DoNotDisturb" and "ringing" in body["flags"], body
        event(root, user_id, "desk", "c-dnd", "connected")
        body = presence(root, user_id)
        assert body["availability"] == "DoNotDisturb", body
        assert body["activity"] == "DoNotDisturb", body
        assert "call" in body["flags"], body  # the call is known, it just does not win
        event(root, user_id, "desk", "c-dnd", "ended")
        body = presence(root, user_id)
        assert body["availability"] == "DoNotDisturb", body
        assert "call" not in body["flags"], body
    finally:
        own.close()


def test_telephony_new_device_becomes_a_device_of_the_user(shared, root):
    user_id, client = new_user(root)
    devices = root.get("/api/v1/users/%s/devices" % user_id)
    assert devices.status_code == 200 and devices.json()["devices"] == []
    event(root, user_id, "softphone-7", "c-dev", "ringing")
    for reader in (root, client):
        answer = reader.get("/api/v1/users/%s/devices" % user_id)
        assert answer.status_code == 200, answer.text
        assert [d["device"] for d in answer.json()["devices"]] == ["softphone-7"]
    # The user themself sees which device is busy.
    assert "softphone-7" in presence(client, user_id)["devices"]
    event(root, user_id, "softphone-7", "c-dev", "ended")
    event(root, user_id, "desk", "c-dev2", "ended")
    names = {d["device"] for d in root.get("/api/v1/users/%s/devices" % user_id).json()["devices"]}
    assert names == {"softphone-7", "desk"}


@pytest.mark.parametrize("device", [
    "SIP/desk-0001", "PJSIP/alice;transport=tcp", "Bob's desk (2nd floor) \u260e", "+49 89 1234-0"])
def test_telephony_device_is_any_string(shared, root, device):
    user_id, client = new_user(root)
    event(root, user_id, device, "any-1", "connected")
    body = presence(client, user_id)
    assert body["availability"] == "Busy" and device in body["devices"], body
    listed = root.get("/api/v1/users/%s/devices" % user_id).json()["devices"]
    assert [d["device"] for d in listed] == [device]
    event(root, user_id, device, "any-1", "ended")
    assert presence(client, user_id)["availability"] == "Offline"


def test_telephony_a_call_on_any_device_is_busy(shared, root):
    user_id, client = new_user(root)
    own = signed_in(shared, client.token)
    try:
        event(root, user_id, "desk", "c1", "connected")
        event(root, user_id, "mobile", "c2", "connected", direction="outbound")
        event(root, user_id, "desk", "c1", "ended")
        body = presence(root, user_id)
        assert body["availability"] == "Busy" and "call" in body["flags"], body
        event(root, user_id, "mobile", "c2", "ended")
        body = presence(root, user_id)
        assert body["availability"] == "Available" and "call" not in body["flags"], body
    finally:
        own.close()


def test_telephony_event_by_role_user_is_403(shared, root):
    user_id, client = new_user(root)
    body = {"user": user_id, "device": "desk", "call_id": "x", "state": "connected",
            "direction": "inbound"}
    assert_error(client.post("/api/v1/telephony/events", body), 403, "permission_denied")
    assert "call" not in presence(root, user_id)["flags"]
    assert root.get("/api/v1/users/%s/devices" % user_id).json()["devices"] == []


@pytest.mark.parametrize("change", [
    {"state": "answered"}, {"state": 1}, {"direction": "sideways"}, {"device": 5},
    {"call_id": None}, {"user": None}])
def test_telephony_event_with_an_invalid_body_is_400(shared, root, change):
    user_id, _ = new_user(root)
    body = {"user": user_id, "device": "desk", "call_id": "x", "state": "ringing",
            "direction": "inbound"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(root.post("/api/v1/telephony/events", body), 400, "invalid_argument")
    assert "ringing" not in presence(root, user_id)["flags"]


def test_telephony_event_for_an_unknown_user_is_404(shared, root):
    assert_error(root.post("/api/v1/telephony/events", {
        "user": "ghost", "device": "desk", "call_id": "x", "state": "ringing",
        "direction": "inbound"}), 404, "not_found")


# ---- POST /api/v1/routing/decide ----

def test_routing_do_not_disturb(shared, root):
    user_id, client = new_user(root)
    _, pbx = new_user(root, role="system")
    event(pbx, user_id, "desk", "setup", "ended")  # a known device that must not ring
    assert put_manual(client, user_id, state="DoNotDisturb").status_code == 200
    answer = decide(pbx, user_id)
    assert answer.status_code == 200, answer.text
    body = check_decision(answer.json())
    assert body["action"] in {"voicemail", "busy"}, body
    assert body["reason"] == "do_not_disturb", body
    assert body["targets"] == [], body


def test_routing_available_without_devices_rings_no_one(shared, root):
    user_id, client = new_user(root)
    own = signed_in(shared, client.token)
    try:
        poll(lambda: presence(root, user_id), lambda p: p["availability"] == "Available")
        answer = decide(root, user_id, call_type="direct")
        assert answer.status_code == 200, answer.text
        body = check_decision(answer.json())
        assert body == {"action": "ring", "targets": [], "reason": "available"}, body
    finally:
        own.close()


def test_routing_available_rings_the_known_devices(shared, root):
    user_id, client = new_user(root)
    assert put_manual(client, user_id, state="Available").status_code == 200
    event(root, user_id, "desk", "setup", "ended")
    body = check_decision(decide(root, user_id).json())
    assert body["action"] == "ring" and body["reason"] == "available", body
    assert body["targets"] == [{"device": "desk", "delay_s": 0}], body


def test_routing_busy_on_a_call(shared, root):
    user_id, client = new_user(root)
    assert put_manual(client, user_id, state="Available").status_code == 200
    event(root, user_id, "desk", "busy-call", "connected")
    assert poll(lambda: presence(root, user_id),
                lambda p: p["availability"] == "Busy")["availability"] == "Busy"
    answer = decide(root, user_id)
    assert answer.status_code == 200, answer.text
    body = check_decision(answer.json())
    # Without busy-on-busy configured the PBX rings and learns why (reason "busy");
    # with it the answer is busy with reason busy_on_busy.
    assert (body["action"], body["reason"]) in {("ring", "busy"), ("busy", "busy_on_busy")}, body


@pytest.mark.parametrize("call_type", ["direct", "group", "queue"])
def test_routing_each_call_type(shared, root, call_type):
    user_id, client = new_user(root)
    assert put_manual(client, user_id, state="Available").status_code == 200
    body = check_decision(decide(root, user_id, call_type=call_type).json())
    assert body["action"] == "ring" and body["targets"] == [], body


def test_routing_reasons_are_documented(shared, root):
    """The contract: reason is a machine code from a documented list (the OpenAPI document)."""
    document = root.get("/api/v1/openapi.json").json()
    reason = document["components"]["schemas"]["Decision"]["properties"]["reason"]
    documented = set(reason.get("enum", []))
    for code in ("available", "do_not_disturb", "busy_on_busy", "busy", "offline"):
        assert code in documented, (code, reason)


def test_routing_by_role_user_is_403(shared, root):
    user_id, client = new_user(root)
    assert_error(decide(client, user_id), 403, "permission_denied")


def test_routing_for_role_system_and_bad_bodies(shared, root):
    user_id, _ = new_user(root)
    _, pbx = new_user(root, role="system")
    body = check_decision(decide(pbx, user_id).json())
    assert body["reason"] == "offline" and body["action"] in {"voicemail", "busy"}, body
    assert_error(decide(pbx, "ghost"), 404, "not_found")
    assert_error(decide(pbx, user_id, call_type="broadcast"), 400, "invalid_argument")
    assert_error(pbx.post("/api/v1/routing/decide", {"callee": 5, "caller": "1"}), 400,
                 "invalid_argument")


# ---- sequence ----

def test_sequence_grows_with_every_visible_change(shared, root):
    user_id, client = new_user(root)
    ws = Watcher(shared, root.token)
    try:
        ws.subscribe(user_id)
        first = ws.presence_of(user_id)
        sequences = [presence(root, user_id)["sequence"]]
        assert first["sequence"] == sequences[0]
        steps = [
            lambda: put_manual(client, user_id, state="Busy"),
            lambda: put_manual(client, user_id, state="Busy", note="a note"),
            lambda: event(root, user_id, "desk", "s1", "ringing"),
            lambda: event(root, user_id, "desk", "s1", "connected"),
            lambda: event(root, user_id, "desk", "s1", "ended"),
            lambda: client.delete("/api/v1/users/%s/presence/manual" % user_id),
        ]
        events = [first["sequence"]]
        for step in steps:
            assert step().status_code in (200, 202)
            sequences.append(presence(root, user_id)["sequence"])
            events.append(ws.presence_of(user_id, timeout=2)["sequence"])
        assert sequences == sorted(set(sequences)), sequences
        assert events == sequences, (events, sequences)
    finally:
        ws.close()


# ---- sessions: a WebSocket is a login ----

def test_a_websocket_signs_in_and_the_last_close_signs_out(shared, root):
    user_id, client = new_user(root)
    watch = Watcher(shared, root.token)
    try:
        watch.subscribe(user_id)
        offline = watch.presence_of(user_id)
        assert offline["availability"] == "Offline" and "offline" in offline["flags"], offline
        first = Watcher(shared, client.token)
        online = watch.presence_of(user_id, timeout=1, availability="Available")
        assert online["activity"] == "Available" and "offline" not in online["flags"], online
        assert presence(root, user_id)["availability"] == "Available"
        second = Watcher(shared, client.token, query_token=True)
        first.close()
        time.sleep(0.3)
        still = presence(root, user_id)
        assert still["availability"] == "Available", still
        second.close()
        gone = watch.presence_of(user_id, timeout=2, availability="Offline")
        assert "offline" in gone["flags"], gone
        assert presence(root, user_id)["availability"] == "Offline"
    finally:
        watch.close()


# ---- restart and stop (own server each) ----

def test_tokens_survive_a_restart(server, admin):
    admin.add_user("alice", password=PASSWORD)
    alice = admin.as_user("alice", PASSWORD)
    assert put_manual(alice, "alice", state="Away", note="lunch").status_code == 200
    before = presence(admin, "alice")["sequence"]
    server.restart()
    admin.url = alice.url = server.url
    body = presence(alice, "alice")
    assert body["availability"] == "Away" and body["note"] == "lunch", body
    assert body["sequence"] >= before
    me = admin.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["id"] == "admin"
    ws = Watcher(server, alice.token)
    try:
        ws.send({"op": "ping", "id": "after-restart"})
        assert ws.wait_for(lambda m: m.get("type") == "pong")["id"] == "after-restart"
    finally:
        ws.close()


def test_sequence_grows_across_a_restart(server, admin):
    admin.add_user("bob", password=PASSWORD)
    bob = admin.as_user("bob", PASSWORD)
    before = put_manual(bob, "bob", state="Busy").json()["sequence"]
    server.restart()
    bob.url = server.url
    after = put_manual(bob, "bob", state="Away").json()["sequence"]
    assert after > before


def test_sigterm_exits_0_within_5_seconds(server, admin):
    admin.add_user("carol", password=PASSWORD)
    carol = admin.as_user("carol", PASSWORD)
    ws = Watcher(server, carol.token)
    ws.subscribe("carol")
    ws.presence_of("carol")
    assert any("listening" in line for line in server.log)
    started = time.monotonic()
    assert server.stop(timeout=5) == 0
    assert time.monotonic() - started < 5
    with pytest.raises((websocket.WebSocketException, OSError, TimeoutError, ValueError)):
        ws.receive(timeout=2)
        ws.receive(timeout=2)


# ---- starting the daemon ----

def test_admin_is_created_only_on_an_empty_store(server, admin):
    me = admin.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["role"] == "admin" and me.json()["id"] == "admin"
    server.env["PRESENCED_ADMIN_PASSWORD"] = "changed-password"
    server.restart()
    assert_error(Client(server.url).post("/api/v1/auth/token", {
        "username": "admin", "password": "changed-password"}), 401, "unauthenticated")
    Client(server.url).login("admin", ADMIN_PASSWORD)


def test_without_an_admin_password_no_user_is_created(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PRESENCED_ADMIN_PASSWORD"}
    presenced = Presenced(tmp_path / "data", env=env, admin_password=None)
    try:
        for password in (ADMIN_PASSWORD, "", "admin"):
            answer = Client(presenced.url).post("/api/v1/auth/token",
                                                {"username": "admin", "password": password})
            assert answer.status_code in (400, 401), answer.text
            assert "token" not in answer.json()
        assert requests.get(presenced.url + "/healthz", timeout=5).status_code == 200
    finally:
        presenced.kill()


def test_demo_data(tmp_path):
    presenced = Presenced(tmp_path / "data", extra_args=["--demo"])
    try:
        alice = Client(presenced.url).login("alice", "demo")
        pbx = Client(presenced.url).login("pbx", "demo")
        assert pbx.get("/api/v1/me").json()["role"] == "system"
        ids = {u["id"] for u in alice.get("/api/v1/users").json()["users"]}
        assert {"admin", "alice", "bob", "carol", "dave", "erin", "pbx"} <= ids
        groups = {g["id"]: g["members"] for g in alice.get("/api/v1/groups").json()["groups"]}
        assert groups["sales"] == ["alice", "bob"] and groups["support"] == ["carol", "dave", "erin"]
        devices = alice.get("/api/v1/users/alice/devices").json()["devices"]
        assert [d["device"] for d in devices] == ["desk-alice"]
        contacts = alice.get("/api/v1/users/alice/contacts").json()["users"]
        assert sorted(contacts) == ["bob", "carol", "dave", "erin"]
        states = {s["id"]: s for s in alice.get("/api/v1/states").json()["states"]}
        assert states["lunch"]["type"] == "away" and states["lunch"]["message"] == "At lunch"
        assert states["vacation"]["type"] == "xa"
        assert event(pbx, "bob", "desk-bob", "demo-1", "connected").status_code == 202
        body = presence(alice, "bob")
        assert body["availability"] == "Busy" and body["activity"] == "InACall", body
    finally:
        presenced.kill()
