"""The WebSocket at /api/v1/ws against the real presenced: subscribe, unsubscribe, resume with
`since`, ping, input reports, authentication at the upgrade and answers to bad messages.
"""

import json
import socket
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
import websocket

from presenced_fixture import (ADMIN_PASSWORD, USER_PASSWORD, Client, Presenced, Watcher,
                               assert_error, drain, new_user)

PASSWORD = USER_PASSWORD


@pytest.fixture
def sockets():
    """Watchers opened by a test; closed when it ends."""
    opened = []
    yield opened
    for ws in opened:
        try:
            ws.close()
        except Exception:  # already closed by the server
            pass


def open_watcher(shared, sockets, token, **kwargs):
    ws = Watcher(shared, token, **kwargs)
    sockets.append(ws)
    return ws


def put_manual(client, user, **body):
    answer = client.put("/api/v1/users/%s/presence/manual" % user, body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def presence(client, user):
    answer = client.get("/api/v1/users/%s/presence" % user)
    assert answer.status_code == 200, answer.text
    return answer.json()


def sync(ws, settle=0.3):
    """Sends a ping and waits for its pong, so every message sent before has been handled, then
    collects what arrives for `settle` seconds more (the pong may overtake events queued just
    before it). Returns every message but the pong, in arrival order."""
    tag = uuid.uuid4().hex[:12]
    ws.send({"op": "ping", "id": tag})
    before = []
    while True:
        message = ws.receive(timeout=5)
        if message.get("type") == "pong" and message.get("id") == tag:
            return before + drain(ws, settle)
        before.append(message)


def check_event(message, user):
    assert message["type"] == "presence", message
    assert message["user"] == user, message
    assert isinstance(message["availability"], str) and message["availability"], message
    assert isinstance(message["activity"], str) and message["activity"], message
    assert isinstance(message["flags"], list), message
    assert isinstance(message["sequence"], int), message
    return message


def check_ws_error(message, code=None):
    assert message["type"] == "error", message
    assert isinstance(message["error"]["code"], str) and message["error"]["code"], message
    assert isinstance(message["error"]["message"], str) and message["error"]["message"], message
    if code is not None:
        assert message["error"]["code"] == code, message
    return message


def assert_still_usable(ws, user, client, **expected):
    """A later subscribe still gets the user's event."""
    ws.subscribe(user)
    event = ws.presence_of(user, **expected)
    check_event(event, user)
    assert event["sequence"] == presence(client, user)["sequence"]


# ---- subscribe / unsubscribe ----

def test_subscribe_gets_one_event_per_user_at_once_then_one_per_change(shared, root, sockets):
    alice, alice_client = new_user(root)
    bob, bob_client = new_user(root)
    _, watcher_client = new_user(root)
    put_manual(alice_client, alice, state="Busy", note="in a meeting")
    ws = open_watcher(shared, sockets, watcher_client.token)
    ws.subscribe(alice, bob)
    initial = sync(ws)
    assert sorted(m["user"] for m in initial) == sorted([alice, bob]), initial
    by_user = {m["user"]: check_event(m, m["user"]) for m in initial}
    assert by_user[alice]["availability"] == "Busy", by_user
    assert by_user[alice]["note"] == "in a meeting", by_user
    assert by_user[bob]["availability"] == "Offline", by_user
    # An event is the presence object as GET gives it to the same watcher.
    for user in (alice, bob):
        event = {k: v for k, v in by_user[user].items() if k != "type"}
        assert event == presence(watcher_client, user), (event, user)

    put_manual(bob_client, bob, state="Away")
    changed = ws.presence_of(bob, timeout=1)
    assert changed["availability"] == "Away", changed
    assert changed["sequence"] > by_user[bob]["sequence"]
    put_manual(alice_client, alice, state="BeRightBack")
    changed = ws.presence_of(alice, timeout=1)
    assert changed["availability"] == "BeRightBack", changed
    # One event per change, nothing more.
    assert drain(ws, 0.5) == []


def test_subscribing_twice_does_not_double_the_events(shared, root, sockets):
    alice, alice_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.subscribe(alice)
    ws.subscribe(alice)
    initial = sync(ws)
    assert initial and all(m["user"] == alice for m in initial), initial
    put_manual(alice_client, alice, state="Busy")
    changes = drain(ws, 0.7)
    assert [m["availability"] for m in changes] == ["Busy"], changes


def test_two_watchers_each_get_the_change(shared, root, sockets):
    alice, alice_client = new_user(root)
    _, other = new_user(root)
    first = open_watcher(shared, sockets, root.token)
    second = open_watcher(shared, sockets, other.token)
    for ws in (first, second):
        ws.subscribe(alice)
        ws.presence_of(alice)
    put_manual(alice_client, alice, state="DoNotDisturb")
    for ws in (first, second):
        assert ws.presence_of(alice, timeout=1)["availability"] == "DoNotDisturb"


def test_unsubscribe_stops_the_events(shared, root, sockets):
    alice, alice_client = new_user(root)
    bob, bob_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.subscribe(alice, bob)
    assert len(sync(ws)) == 2
    ws.unsubscribe(alice)
    assert sync(ws) == []
    put_manual(alice_client, alice, state="Busy")
    put_manual(bob_client, bob, state="Away")
    later = drain(ws, 0.7)
    assert [m["user"] for m in later] == [bob], later
    assert later[0]["availability"] == "Away"
    # Subscribing again brings alice back, at once.
    ws.subscribe(alice)
    assert ws.presence_of(alice)["availability"] == "Busy"


def test_unsubscribe_of_all_users_leaves_the_connection_quiet(shared, root, sockets):
    alice, alice_client = new_user(root)
    bob, bob_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.subscribe(alice, bob)
    sync(ws)
    ws.unsubscribe(alice, bob)
    sync(ws)
    put_manual(alice_client, alice, state="Busy")
    put_manual(bob_client, bob, state="Busy")
    assert drain(ws, 0.5) == []


def test_subscribe_to_the_contact_list(shared, root, sockets):
    owner, owner_client = new_user(root)
    alice, alice_client = new_user(root)
    bob, _ = new_user(root)
    answer = owner_client.put("/api/v1/users/%s/contacts" % owner, {"users": [alice, bob]})
    assert answer.status_code == 200, answer.text
    ws = open_watcher(shared, sockets, owner_client.token)
    ws.send({"op": "subscribe", "contacts": True})
    assert sorted(m["user"] for m in sync(ws)) == sorted([alice, bob])
    put_manual(alice_client, alice, state="Away")
    assert ws.presence_of(alice, timeout=1)["availability"] == "Away"


def test_changes_reach_the_watcher_within_a_second(shared, root, sockets):
    alice, _ = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.subscribe(alice)
    ws.presence_of(alice)
    started = time.monotonic()
    answer = root.post("/api/v1/telephony/events", {
        "user": alice, "device": "desk", "call_id": "c1", "state": "ringing",
        "direction": "inbound"})
    assert answer.status_code == 202, answer.text
    message = ws.wait_for(lambda m: m.get("user") == alice and "ringing" in m.get("flags", []),
                          timeout=1)
    assert time.monotonic() - started < 1.0
    check_event(message, alice)


# ---- authentication at the upgrade ----

def test_access_token_in_the_query_works(shared, root, sockets):
    alice, alice_client = new_user(root)
    bob, bob_client = new_user(root)
    ws = open_watcher(shared, sockets, alice_client.token, query_token=True)
    ws.subscribe(alice, bob)
    events = {m["user"]: check_event(m, m["user"]) for m in sync(ws)}
    assert sorted(events) == sorted([alice, bob]), events
    # The connection is alice's login session.
    assert events[alice]["availability"] == "Available", events
    assert presence(root, alice)["availability"] == "Available"
    put_manual(bob_client, bob, state="Busy")
    assert ws.presence_of(bob, timeout=1)["availability"] == "Busy"


def raw_upgrade(shared, path, headers=None):
    """The upgrade request over plain HTTP, to read the refusal's status and body."""
    all_headers = {"Connection": "Upgrade", "Upgrade": "websocket",
                   "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    all_headers.update(headers or {})
    return requests.get(shared.url + path, headers=all_headers, timeout=5)


@pytest.mark.parametrize("how", ["none", "bad header", "bad query", "empty query", "basic"])
def test_upgrade_without_a_valid_token_is_401(shared, root, how):
    url = shared.ws_url
    header = []
    if how == "bad header":
        header = ["Authorization: Bearer not-a-token"]
    elif how == "bad query":
        url += "?access_token=not-a-token"
    elif how == "empty query":
        url += "?access_token="
    elif how == "basic":
        header = ["Authorization: Basic YWRtaW46c2VjcmV0"]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, header=header, timeout=5)
    assert refused.value.status_code == 401

    path = url[len(shared.ws_url) - len("/api/v1/ws"):]
    headers = dict(h.split(": ", 1) for h in header)
    assert_error(raw_upgrade(shared, path, headers), 401, "unauthenticated")


def test_upgrade_with_a_revoked_token_is_401(shared, root):
    alice, alice_client = new_user(root)
    assert alice_client.delete("/api/v1/auth/token").status_code == 204
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(shared.ws_url,
                                    header=["Authorization: Bearer " + alice_client.token],
                                    timeout=5)
    assert refused.value.status_code == 401


# ---- bad messages: an error, and the connection stays usable ----

@pytest.mark.parametrize("text", [
    "{", "not json", '{"op": "subscribe", "users": ["a"]', "", "[]", "42", "null",
    '"subscribe"'])
def test_malformed_json_gets_an_error_and_the_connection_stays_usable(shared, root, sockets, text):
    alice, alice_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.send(text)
    check_ws_error(ws.receive(), "invalid_argument")
    assert_still_usable(ws, alice, alice_client)


@pytest.mark.parametrize("message", [
    {"op": "publish", "users": ["x"]}, {"op": "SUBSCRIBE", "users": ["x"]}, {"op": ""},
    {"users": ["x"]}, {"type": "presence"}])
def test_unknown_op_gets_an_error(shared, root, sockets, message):
    alice, alice_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.send(message)
    check_ws_error(ws.receive(), "invalid_argument")
    assert_still_usable(ws, alice, alice_client)


@pytest.mark.parametrize("message", [
    {"op": 1, "users": ["USER"]},
    {"op": "subscribe", "users": "USER"},
    {"op": "subscribe", "users": [1, 2]},
    {"op": "subscribe", "users": [["USER"]]},
    {"op": "subscribe", "users": {"USER": True}},
    {"op": "subscribe"},
    {"op": "subscribe", "users": []},
    {"op": "subscribe", "users": ["USER"], "since": {"USER": "x"}},
    {"op": "subscribe", "users": ["USER"], "since": {"USER": -1}},
    {"op": "subscribe", "users": ["USER"], "since": [1]},
    {"op": "subscribe", "users": ["USER"], "contacts": "yes"},
    {"op": "unsubscribe", "users": "USER"},
    {"op": "ping", "id": 5},
    {"op": "input", "state": "asleep"},
    {"op": "input", "state": "idle", "since": "yesterday"},
])
def test_wrong_types_get_an_error(shared, root, sockets, message):
    alice, alice_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    text = json.dumps(message).replace("USER", alice)
    ws.send(text)
    check_ws_error(ws.receive(), "invalid_argument")
    # Nothing was subscribed by the bad message.
    put_manual(alice_client, alice, state="Away")
    assert drain(ws, 0.3) == []
    assert_still_usable(ws, alice, alice_client, availability="Away")


def test_binary_frames_get_an_error(shared, root, sockets):
    alice, alice_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.socket.send_binary(json.dumps({"op": "subscribe", "users": [alice]}).encode())
    try:
        message = ws.receive()
    except websocket.WebSocketConnectionClosedException:  # pragma: no cover - reported below
        pytest.fail("the server closed the connection on a binary frame")
    check_ws_error(message, "invalid_argument")
    # The binary frame subscribed nothing; text still works.
    assert drain(ws, 0.3) == []
    assert_still_usable(ws, alice, alice_client)


def test_many_bad_messages_in_a_row_keep_the_connection(shared, root, sockets):
    alice, alice_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    for text in ["{", "[]", '{"op": "nope"}', '{"op": 3}']:
        ws.send(text)
    ws.socket.send_binary(b"\x00\x01")
    errors = [ws.receive() for _ in range(5)]
    for message in errors:
        check_ws_error(message, "invalid_argument")
    assert_still_usable(ws, alice, alice_client)


def test_subscribe_to_an_unknown_user_gets_an_error(shared, root, sockets):
    alice, alice_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.send({"op": "subscribe", "users": ["ghost-user"]})
    error = check_ws_error(ws.receive(), "not_found")
    assert "ghost-user" in error["error"]["message"]
    assert_still_usable(ws, alice, alice_client)


def test_subscribe_to_known_and_unknown_users(shared, root, sockets):
    alice, alice_client = new_user(root)
    ws = open_watcher(shared, sockets, root.token)
    ws.subscribe("ghost-user", alice)
    messages = sync(ws)
    kinds = sorted(m["type"] for m in messages)
    assert kinds == ["error", "presence"], messages
    error = next(m for m in messages if m["type"] == "error")
    check_ws_error(error, "not_found")
    event = next(m for m in messages if m["type"] == "presence")
    check_event(event, alice)
    put_manual(alice_client, alice, state="Busy")
    assert ws.presence_of(alice, timeout=1)["availability"] == "Busy"


def test_a_message_over_64_kib_closes_with_1009(shared, root, sockets):
    ws = open_watcher(shared, sockets, root.token)
    ws.send(json.dumps({"op": "ping", "id": "x", "pad": "y" * (70 * 1024)}))
    ws.socket.settimeout(5)
    frame = ws.socket.recv_frame()  # the raw frame: no close reply to a socket already gone
    assert frame.opcode == websocket.ABNF.OPCODE_CLOSE, (frame.opcode, frame.data)
    assert int.from_bytes(frame.data[:2], "big") == 1009


# ---- since (resume) ----

def test_since_with_the_current_sequence_sends_nothing(shared, root, sockets):
    alice, alice_client = new_user(root)
    bob, _ = new_user(root)
    put_manual(alice_client, alice, state="Busy")
    current = presence(root, alice)["sequence"]
    ws = open_watcher(shared, sockets, root.token)
    ws.send({"op": "subscribe", "users": [alice, bob], "since": {alice: current}})
    initial = sync(ws)
    assert [m["user"] for m in initial] == [bob], initial
    # Still subscribed: the next change arrives.
    put_manual(alice_client, alice, state="Away")
    event = ws.presence_of(alice, timeout=1)
    assert event["availability"] == "Away" and event["sequence"] > current


def test_since_with_an_older_sequence_sends_the_current_state(shared, root, sockets):
    alice, alice_client = new_user(root)
    old = put_manual(alice_client, alice, state="Busy")["sequence"]
    new = put_manual(alice_client, alice, state="Away", note="back soon")["sequence"]
    assert new > old
    ws = open_watcher(shared, sockets, root.token)
    ws.send({"op": "subscribe", "users": [alice], "since": {alice: old}})
    initial = sync(ws)
    assert len(initial) == 1, initial
    event = check_event(initial[0], alice)
    assert event["sequence"] == new and event["availability"] == "Away", event
    assert event["note"] == "back soon"


# ---- ping and input ----

def test_ping_gets_pong(shared, root, sockets):
    ws = open_watcher(shared, sockets, root.token)
    ws.send({"op": "ping", "id": "abc-1"})
    assert ws.receive() == {"type": "pong", "id": "abc-1"}
    ws.send({"op": "ping"})
    assert ws.receive() == {"type": "pong"}


def test_a_watcher_that_stops_reading_skips_to_the_newest_states(tmp_path, sockets):
    """A watcher whose socket is full holds nobody back: its queue keeps only the newest state
    per user while the socket is full, and once it reads again it ends on every user's last
    state, on the same connection. The server's send buffer is small here, so that 400 changes
    fill it (the kernel's own grows to megabytes on loopback)."""
    server = Presenced(tmp_path / "data", ["--ws-send-buffer", "16384"])
    try:
        run_slow_watcher(server, Client(server.url).login("admin", ADMIN_PASSWORD), sockets)
    finally:
        server.kill()


def run_slow_watcher(server, root, sockets):
    users = [new_user(root) for _ in range(3)]
    slow = websocket.create_connection(
        server.ws_url, header=["Authorization: Bearer " + root.token], timeout=10,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    sockets.append(slow)
    slow.send(json.dumps({"op": "subscribe", "users": [u for u, _ in users]}))
    changes = 400
    for i in range(changes):
        user, client = users[i % len(users)]
        put_manual(client, user, state=["Busy", "Away"][i // len(users) % 2],
                   note="%d %s" % (i, "x" * 1000))
    last = {user: "%d " % i for i in range(changes - len(users), changes)
            for user in [users[i % len(users)][0]]}
    newest, events = {}, 0
    slow.settimeout(10)
    while any(not newest.get(u, "").startswith(n) for u, n in last.items()):
        message = json.loads(slow.recv())
        if message.get("type") == "presence":
            events += 1
            newest[message["user"]] = message.get("note") or ""
    assert events < changes, "every change arrived: the socket never filled (%d)" % events
    watcher = open_watcher(server, sockets, root.token)
    assert_still_usable(watcher, users[0][0], root)
    slow.send(json.dumps({"op": "ping", "id": "after"}))
    assert json.loads(slow.recv()) == {"type": "pong", "id": "after"}


def test_input_idle_and_active_reports(shared, root, sockets):
    alice, alice_client = new_user(root)
    watch = open_watcher(shared, sockets, root.token)
    watch.subscribe(alice)
    own = open_watcher(shared, sockets, alice_client.token)
    watch.presence_of(alice, availability="Available")
    long_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat().replace(
        "+00:00", "Z")
    own.send({"op": "input", "state": "idle", "since": long_ago})
    idle = watch.presence_of(alice, timeout=2, availability="AvailableIdle")
    assert "idle" in idle["flags"] and idle["activity"] == "Inactive", idle
    own.send({"op": "input", "state": "active"})
    active = watch.presence_of(alice, timeout=2, availability="Available")
    assert "idle" not in active["flags"], active
    own.send({"op": "input", "state": "locked"})
    locked = watch.presence_of(alice, timeout=2, availability="AvailableIdle")
    assert "idle" in locked["flags"], locked
    # Input reports get no answer of their own.
    assert sync(own) == []
