"""Bad input of every kind against the real presenced: malformed and oversized bodies, wrong types,
bad credentials, raw garbage on the HTTP port and on the WebSocket.

Every case must get a clear JSON error (or, for garbage below HTTP, a 400 or a closed connection),
and afterwards the server must still be up and still hold every change made before. One server
serves the whole module so the changes pile up; each test adds one of its own first and checks
all of them at the end.
"""

import datetime
import json
import os
import socket
import struct
import threading
import time

import pytest
import requests
import websocket

from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, Watcher, assert_error

MIB = 1024 * 1024
WS_LIMIT = 64 * 1024
PASSWORD = "pw-bad-input-1"
KEEPER_STATES = ["Busy", "DoNotDisturb", "Away", "BeRightBack"]


# ---- The shared server and what it must keep ----

class Env:
    """One presenced for the module, its users' tokens, and the changes it must keep."""

    def __init__(self, data_dir):
        self.server = Presenced(data_dir)
        self.tokens = {}
        self.kept = {}      # user -> (state, note) last set and acknowledged
        self.crashes = []   # tests at whose start the server was found dead
        admin = Client(self.server.url).login("admin", ADMIN_PASSWORD)
        self.tokens["admin"] = admin.token
        for user, role in [("alice", "user"), ("bob", "user"), ("pbx", "system")]:
            admin.add_user(user, password=PASSWORD, role=role)
            self.tokens[user] = Client(self.server.url).login(user, PASSWORD).token
        for i in range(len(KEEPER_STATES) * 2):
            admin.add_user("keeper%d" % i, password=PASSWORD)
        self.next_keeper = 0

    def client(self, user="admin"):
        return Client(self.server.url, self.tokens[user])

    def keep(self, label):
        """Sets one more manual state with a unique note; check_kept() expects to read it back."""
        i = self.next_keeper
        self.next_keeper += 1
        user = "keeper%d" % (i % (len(KEEPER_STATES) * 2))
        state = KEEPER_STATES[i % len(KEEPER_STATES)]
        note = "kept before %s (%d) \u00e4\u00f6\u00fc" % (label, i)
        answer = self.client().put("/api/v1/users/%s/presence/manual" % user,
                                   {"state": state, "note": note})
        assert answer.status_code == 200, answer.text
        assert answer.json()["note"] == note
        self.kept[user] = (state, note)

    def check_alive(self):
        """The server answers /healthz and still shows every kept change."""
        assert self.server.process.poll() is None, (
            "presenced exited with %s:\n%s" % (self.server.process.returncode,
                                                "".join(self.server.log[-30:])))
        health = requests.get(self.server.url + "/healthz", timeout=5)
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok"}
        admin = self.client()
        for user, (state, note) in self.kept.items():
            answer = admin.get("/api/v1/users/%s/layers" % user)
            assert answer.status_code == 200, answer.text
            manual = answer.json()["manual"]
            assert manual is not None, (user, "lost its manual state")
            assert (manual["state"], manual["note"]) == (state, note), user
            assert answer.json()["presence"]["availability"] == state, answer.json()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    state = Env(tmp_path_factory.mktemp("bad-input") / "data")
    yield state
    state.server.kill()


@pytest.fixture(autouse=True)
def group(env, request):
    """Before each test: revive a server an earlier test killed (that test has failed already),
    add one change to keep; after it: the server is up and kept everything."""
    if env.server.process.poll() is not None:
        env.crashes.append(request.node.name)
        env.server.start()
    env.keep(request.node.name)
    yield env
    env.check_alive()


# ---- Helpers ----

def send_raw(env, method, path, data, user="admin", headers=None):
    """A request whose body is exactly `data` (bytes), as JSON."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return env.client(user).request(method, path, raw=data, headers=all_headers)


def assert_invalid(answer, *words):
    """400 invalid_argument in the contract's shape, and the message names what is wrong."""
    error = assert_error(answer, 400, "invalid_argument")
    for word in words:
        assert word in error["message"], (word, error)
    return error


def future(hours=2):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def alice_manual(env):
    answer = env.client().get("/api/v1/users/alice/layers")
    assert answer.status_code == 200, answer.text
    return answer.json()["manual"]


# The contract's bodies, each with a valid example, under the user allowed to send it.
BODY_ROUTES = {
    "token": ("POST", "/api/v1/auth/token", None,
              {"username": "alice", "password": PASSWORD}),
    "users": ("POST", "/api/v1/users", "admin",
              {"id": "carol", "display_name": "Carol", "password": PASSWORD, "role": "user"}),
    "manual": ("PUT", "/api/v1/users/alice/presence/manual", "alice",
               {"state": "Busy", "note": "in a meeting"}),
    "visibility": ("PUT", "/api/v1/users/alice/visibility/bob", "alice", {"level": "team"}),
    "telephony": ("POST", "/api/v1/telephony/events", "pbx",
                  {"user": "alice", "device": "desk", "call_id": "c1", "state": "ended",
                   "direction": "inbound"}),
    "routing": ("POST", "/api/v1/routing/decide", "pbx",
                {"callee": "alice", "caller": "+498912345", "type": "direct"}),
}


def send_body(env, route, data):
    method, path, user, _ = BODY_ROUTES[route]
    if user is None:
        return Client(env.server.url).request(
            method, path, raw=data, headers={"Content-Type": "application/json"})
    return send_raw(env, method, path, data, user=user)


def send_json(env, route, body):
    return send_body(env, route, json.dumps(body).encode())


MALFORMED = {
    "empty": b"",
    "truncated": b'{"state": "Busy", "note": "half',
    "truncated after colon": b'{"state":',
    "only an open brace": b"{",
    "array": b'["Busy"]',
    "string": b'"Busy"',
    "number": b"42",
    "null": b"null",
    "true": b"true",
    "trailing garbage": b'{"state": "Busy"} and more',
    "two objects": b'{"state": "Busy"}{"state": "Away"}',
    "single quotes": b"{'state': 'Busy'}",
    "unquoted key": b'{state: "Busy"}',
    "trailing comma": b'{"state": "Busy",}',
    "comment": b'{"state": "Busy" /* hi */}',
    "NaN": b'{"state": NaN}',
    "invalid UTF-8 byte": b'{"state": "Busy", "note": "\xff\xfe"}',
    "invalid UTF-8 in a key": b'{"st\xc3\x28te": "Busy"}',
    "overlong UTF-8": b'{"state": "Busy", "note": "\xc0\xaf"}',
    "UTF-8 surrogate": b'{"state": "Busy", "note": "\xed\xa0\x80"}',
    "lone surrogate escape": b'{"state": "Busy", "note": "\\ud800"}',
    "bad escape": b'{"state": "Busy", "note": "\\x41"}',
    "raw control character": b'{"state": "Busy", "note": "a\x01b"}',
    "NUL byte": b'{"state": "Bu\x00sy"}',
    "deeply nested arrays": b"[" * 100000 + b"]" * 100000,
    "deeply nested unclosed": b"[" * 100000,
    "deep value in a field": b'{"state": "Busy", "note": ' + b"[" * 100000 + b"]" * 100000 + b"}",
    "deeply nested objects": b'{"a":' * 50000 + b"1" + b"}" * 50000,
    "huge exponent": b'{"state": 1e999999}',
    "huge integer": b'{"state": ' + b"9" * 5000 + b"}",
    "negative huge": b'{"state": -' + b"9" * 400 + b".5e-99999}",
}


# ---- Malformed JSON ----

@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
def test_malformed_json_gets_400_on_every_body_route(env, route):
    before = alice_manual(env)
    for name, data in MALFORMED.items():
        answer = send_body(env, route, data)
        assert answer.status_code == 400, (route, name, answer.status_code, answer.text[:300])
        assert_invalid(answer)
    # The valid example still works afterwards, on the same route.
    method, path, user, example = BODY_ROUTES[route]
    if route != "users":
        answer = send_json(env, route, example)
        assert answer.status_code in (200, 202), (route, answer.text)
    assert route in ("manual",) or alice_manual(env) == before


def test_malformed_json_error_names_the_problem(env):
    error = assert_invalid(send_body(env, "manual", MALFORMED["deeply nested arrays"]))
    assert "deep" in error["message"] or "nest" in error["message"], error
    error = assert_invalid(send_body(env, "manual", MALFORMED["array"]))
    assert "object" in error["message"], error
    error = assert_invalid(send_body(env, "manual", MALFORMED["truncated"]))
    assert "JSON" in error["message"] or "json" in error["message"], error


def test_huge_numbers_in_integer_fields(env):
    admin = env.client()
    for days in [1e400, 10 ** 30, -(10 ** 30), 2 ** 63, 2 ** 64, 0, 3651, 1.5, "30", True]:
        data = b'{"user": "pbx", "label": "k", "days": ' + json.dumps(days).encode() + b"}"
        if days == 1e400:
            data = b'{"user": "pbx", "label": "k", "days": 1e400}'
        answer = send_raw(env, "POST", "/api/v1/apikeys", data)
        assert_invalid(answer, "days")
    for order in [b"1e400", b"99999999999999999999999999", b"-99999999999999999999999", b"2.5",
                  b"2147483648", b'"1"']:
        data = b'{"id": "weird", "type": "away", "order": ' + order + b"}"
        assert_invalid(send_raw(env, "PUT", "/api/v1/states/weird", data), "order")
    assert admin.get("/api/v1/states").status_code == 200
    assert "weird" not in [s["id"] for s in admin.get("/api/v1/states").json()["states"]]
    for minutes in [b"1e400", b"18446744073709551616", b"0", b"1441", b"-1", b"1.0"]:
        data = b'{"idle_minutes": ' + minutes + b"}"
        assert_invalid(send_raw(env, "PATCH", "/api/v1/users/bob", data), "idle_minutes")


# ---- Wrong types and missing fields ----

WRONG_TYPES = {
    "token": [
        ({"username": 1, "password": PASSWORD}, "username"),
        ({"username": "alice", "password": ["x"]}, "password"),
        ({"username": {"id": "alice"}, "password": PASSWORD}, "username"),
        ({"username": "alice", "password": True}, "password"),
    ],
    "users": [
        ({"id": 5, "display_name": "Five", "password": PASSWORD, "role": "user"}, "id"),
        ({"id": "has space", "display_name": "x", "password": PASSWORD, "role": "user"}, "id"),
        ({"id": "x" * 129, "display_name": "x", "password": PASSWORD, "role": "user"}, "id"),
        ({"id": "", "display_name": "x", "password": PASSWORD, "role": "user"}, "id"),
        ({"id": "carol", "display_name": 5, "password": PASSWORD, "role": "user"}, "display_name"),
        ({"id": "carol", "display_name": "C", "password": 12345678, "role": "user"}, "password"),
        ({"id": "carol", "display_name": "C", "password": PASSWORD, "role": "god"}, "role"),
        ({"id": "carol", "display_name": "C", "password": PASSWORD, "role": 1}, "role"),
        ({"id": "carol", "display_name": "C", "password": PASSWORD, "role": "user",
          "sip_password": {}}, "sip_password"),
        ({"id": "carol", "display_name": "C", "password": PASSWORD, "role": "user",
          "groups": "sales"}, "groups"),
        ({"id": "carol", "display_name": "C", "password": PASSWORD, "role": "user",
          "groups": [1]}, "groups"),
    ],
    "manual": [
        ({"state": 5}, "state"),
        ({"state": ["Busy"]}, "state"),
        ({"state": {"id": "Busy"}}, "state"),
        ({"state": True}, "state"),
        ({"state": "Busy", "note": 5}, "note"),
        ({"state": "Busy", "note": ["a"]}, "note"),
        ({"state": "Busy", "note": "x" * 1025}, "note"),
        ({"state": "Busy", "until": 1893456000}, "until"),
        ({"state": "Busy", "until": {"date": "2030-01-01"}}, "until"),
        ({"state": "Busy", "reachability": "moon"}, "reachability"),
    ],
    "visibility": [
        ({"level": 3}, "level"),
        ({"level": ["team"]}, "level"),
        ({"level": {"name": "team"}}, "level"),
        ({"level": True}, "level"),
    ],
    "telephony": [
        ({"user": 1, "device": "desk", "call_id": "c", "state": "ringing",
          "direction": "inbound"}, "user"),
        ({"user": "alice", "device": 1, "call_id": "c", "state": "ringing",
          "direction": "inbound"}, "device"),
        ({"user": "alice", "device": "desk", "call_id": [], "state": "ringing",
          "direction": "inbound"}, "call_id"),
        ({"user": "alice", "device": "desk", "call_id": "c", "state": "dialing",
          "direction": "inbound"}, "state"),
        ({"user": "alice", "device": "desk", "call_id": "c", "state": 1,
          "direction": "inbound"}, "state"),
        ({"user": "alice", "device": "desk", "call_id": "c", "state": "ringing",
          "direction": "sideways"}, "direction"),
        ({"user": "alice", "device": "desk", "call_id": "c", "state": "ringing",
          "direction": True}, "direction"),
        ({"user": "alice", "device": "de\u0001sk", "call_id": "c", "state": "ringing",
          "direction": "inbound"}, "device"),
        ({"user": "alice", "device": "", "call_id": "c", "state": "ringing",
          "direction": "inbound"}, "device"),
    ],
    "routing": [
        ({"callee": 1, "caller": "+49", "type": "direct"}, "callee"),
        ({"callee": "alice", "caller": {}, "type": "direct"}, "caller"),
        ({"callee": "alice", "caller": "+49", "type": "broadcast"}, "type"),
        ({"callee": "alice", "caller": "+49", "type": 2}, "type"),
        ({"callee": ["alice"], "caller": "+49", "type": "direct"}, "callee"),
    ],
}

MISSING = {
    "token": [({}, "username"), ({"username": "alice"}, "password"),
              ({"password": PASSWORD}, "username"),
              ({"username": None, "password": PASSWORD}, "username")],
    "users": [({}, "id"), ({"id": "carol", "display_name": "Carol", "role": "user"}, "password"),
              ({"display_name": "Carol", "password": PASSWORD}, "id")],
    "manual": [({}, "state"), ({"note": "no state"}, "state"), ({"state": None}, "state")],
    "visibility": [({}, "level"), ({"level": None}, "level"), ({"lvl": "team"}, "level")],
    "telephony": [
        ({"device": "desk", "call_id": "c", "state": "ringing", "direction": "inbound"}, "user"),
        ({"user": "alice", "call_id": "c", "state": "ringing", "direction": "inbound"}, "device"),
        ({"user": "alice", "device": "desk", "state": "ringing", "direction": "inbound"},
         "call_id"),
        ({"user": "alice", "device": "desk", "call_id": "c", "direction": "inbound"}, "state"),
    ],
    "routing": [({"caller": "+49", "type": "direct"}, "callee"),
                ({"callee": "alice", "type": "direct"}, "caller")],
}


@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
def test_wrong_types_and_missing_fields_name_the_field(env, route):
    before = alice_manual(env)
    users_before = {u["id"] for u in env.client().get("/api/v1/users").json()["users"]}
    for body, field in WRONG_TYPES[route] + MISSING[route]:
        answer = send_json(env, route, body)
        assert answer.status_code == 400, (route, body, answer.status_code, answer.text[:300])
        assert_invalid(answer, field)
    assert alice_manual(env) == before
    users_after = {u["id"] for u in env.client().get("/api/v1/users").json()["users"]}
    assert users_after == users_before
    layers = env.client().get("/api/v1/users/alice/layers").json()
    assert layers["telephony"] == [], layers


def test_unknown_states_and_levels(env):
    alice = env.client("alice")
    set_answer = alice.put("/api/v1/users/alice/presence/manual",
                           {"state": "Away", "note": "before the bad states"})
    assert set_answer.status_code == 200, set_answer.text
    for state in ["Sleeping", "busy", "BUSY", "Available ", " Busy", "PresenceUnknown",
                  "AvailableIdle", "InACall", "x" * 128, "Busy\u00e4", "../Busy"]:
        answer = alice.put("/api/v1/users/alice/presence/manual", {"state": state})
        assert answer.status_code == 400, (state, answer.status_code, answer.text)
        assert_invalid(answer, "state")
    for level in ["secret", "Team", "TEAM", "everyone", "", "team ", "none"]:
        answer = alice.put("/api/v1/users/alice/visibility/bob", {"level": level})
        assert answer.status_code == 400, (level, answer.status_code, answer.text)
        assert_invalid(answer, "level")
    for policy in [{"default_level": "open"}, {"minimum": "private"}, {"minimum": 1}]:
        answer = env.client().put("/api/v1/visibility/policy", policy)
        assert_invalid(answer)
    manual = alice_manual(env)
    assert (manual["state"], manual["note"]) == ("Away", "before the bad states")
    levels = alice.get("/api/v1/users/alice/visibility").json()
    assert levels["default_level"] == "business", levels


BAD_TIMES = [
    "tomorrow", "", "2030-01-01", "2030-01-01T00:00:00", "2030-13-01T00:00:00Z",
    "2030-02-30T00:00:00Z", "2030-01-01T25:00:00Z", "2030-01-01T00:60:00Z",
    "2030-01-01T00:00:00+25:00", "2030-01-01T00:00:00.Z", "30-01-01T00:00:00Z",
    "2030-1-1T0:0:0Z", "2030-01-01T00:00:00ZZ", "2030-01-01T00:00:00Z trailing",
    "99999999999-01-01T00:00:00Z", "2030-01-01T00:00:00+0100", "\u0662\u0660\u0663\u0660-01-01T00:00:00Z",
]


def test_until_in_the_past_or_not_rfc3339(env):
    alice = env.client("alice")
    keep = alice.put("/api/v1/users/alice/presence/manual",
                     {"state": "BeRightBack", "note": "before the bad times", "until": future(5)})
    assert keep.status_code == 200, keep.text
    past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2))
    for until in ["2000-01-01T00:00:00Z", "1970-01-01T00:00:00Z",
                  past.strftime("%Y-%m-%dT%H:%M:%SZ"), past.isoformat()]:
        answer = alice.put("/api/v1/users/alice/presence/manual", {"state": "Busy", "until": until})
        assert answer.status_code == 400, (until, answer.status_code, answer.text)
        assert_invalid(answer, "until")
    for until in BAD_TIMES:
        answer = alice.put("/api/v1/users/alice/presence/manual", {"state": "Busy", "until": until})
        assert answer.status_code == 400, (until, answer.status_code, answer.text)
        assert_invalid(answer, "until")
    manual = alice_manual(env)
    assert (manual["state"], manual["note"]) == ("BeRightBack", "before the bad times")
    # A correct offset form is accepted, so the rejections above are about the values.
    ok = alice.put("/api/v1/users/alice/presence/manual",
                   {"state": "Busy", "until": "2099-11-23T16:00:00+01:00"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["until"].startswith("2099-11-23T15:00:00"), ok.json()


def test_unknown_users_get_404(env):
    admin = env.client()
    checks = [
        admin.get("/api/v1/users/nobody/presence"),
        admin.get("/api/v1/users/nobody"),
        admin.put("/api/v1/users/nobody/presence/manual", {"state": "Busy"}),
        admin.delete("/api/v1/users/nobody/presence/manual"),
        admin.put("/api/v1/users/nobody/visibility/bob", {"level": "team"}),
        admin.put("/api/v1/users/alice/visibility/nobody", {"level": "team"}),
        admin.put("/api/v1/users/alice/contacts", {"users": ["bob", "nobody"]}),
        admin.post("/api/v1/telephony/events",
                   {"user": "nobody", "device": "desk", "call_id": "c", "state": "ringing",
                    "direction": "inbound"}),
        admin.post("/api/v1/routing/decide",
                   {"callee": "nobody", "caller": "+49", "type": "direct"}),
        admin.get("/api/v1/users/%00/presence"),
        admin.get("/api/v1/users/..%2Fadmin/presence"),
        admin.get("/api/v1/users/" + "n" * 5000 + "/presence"),
        env.client("alice").get("/api/v1/users/nobody/presence"),
    ]
    for answer in checks:
        assert_error(answer, 404, "not_found")
    assert admin.get("/api/v1/users/alice/contacts").json()["users"] == []
    assert admin.get("/api/v1/users/nobody/devices").status_code == 404


def test_unknown_route_and_wrong_method(env):
    admin = env.client()
    for method, path in [("GET", "/api/v1/nothing"), ("GET", "/api/v2/users"),
                         ("POST", "/nope"), ("GET", "/api/v1/users/alice/presence/extra/deep"),
                         ("GET", "/api"), ("GET", "/"), ("DELETE", "/api/v1/telephony")]:
        error = assert_error(admin.request(method, path), 404, "not_found")
        assert "route" in error["message"], error
    for method, path in [("DELETE", "/api/v1/users"), ("PATCH", "/api/v1/users/alice/presence"),
                         ("GET", "/api/v1/telephony/events"), ("PUT", "/api/v1/routing/decide"),
                         ("POST", "/api/v1/users/alice/presence/manual"),
                         ("BREW", "/api/v1/users"), ("GET", "/api/v1/auth/token")]:
        error = assert_error(admin.request(method, path), 405)
        assert method in error["message"], error


# ---- Oversized bodies ----

def padded_manual(size, note):
    """A valid manual-state body of exactly `size` bytes (JSON whitespace pads it)."""
    core = json.dumps({"state": "Busy", "note": note}).encode()
    assert len(core) <= size
    return core[:-1] + b" " * (size - len(core)) + b"}"


def raw_http(server, request_bytes, timeout=10):
    """Sends the request over a fresh socket, reads the whole answer; (status, headers, body)."""
    host, port = server.url[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(request_bytes)
        return read_response(s)


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        part = s.recv(65536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in
               (line.split(":", 1) for line in lines[1:] if ":" in line)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        part = s.recv(65536)
        if not part:
            break
        body += part
    return status, headers, body


def assert_413(answer):
    error = assert_error(answer, 413)
    assert "limit" in error["message"], error
    return error


def test_body_just_over_one_mib_gets_413(env):
    alice = env.client("alice")
    # Exactly the limit is accepted...
    answer = send_raw(env, "PUT", "/api/v1/users/alice/presence/manual",
                      padded_manual(MIB, "exactly one MiB"), user="alice")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["note"] == "exactly one MiB"
    # ...one byte more is not, and changes nothing.
    answer = send_raw(env, "PUT", "/api/v1/users/alice/presence/manual",
                      padded_manual(MIB + 1, "one byte too many"), user="alice")
    assert_413(answer)
    assert alice_manual(env)["note"] == "exactly one MiB"
    answer = send_raw(env, "POST", "/api/v1/auth/token", b"{" + b" " * (2 * MIB) + b"}")
    assert_413(answer)
    # Also when the body comes chunked, with no Content-Length to judge it by up front.
    chunks = (padded_manual(MIB + 1, "chunked")[i:i + 65536] for i in range(0, MIB + 1, 65536))
    answer = alice.request("PUT", "/api/v1/users/alice/presence/manual", raw=chunks,
                           headers={"Content-Type": "application/json"})
    assert_413(answer)
    assert alice_manual(env)["note"] == "exactly one MiB"


def test_body_over_limit_announced_up_front_gets_413(env):
    """A client that waits for the answer before sending its big body gets the 413."""
    request = ("PUT /api/v1/users/alice/presence/manual HTTP/1.1\r\nHost: x\r\n"
               "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % (env.tokens["alice"], 50 * MIB)).encode()
    status, headers, body = raw_http(env.server, request)
    assert status == 413, (status, body)
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["code"] == "resource_exhausted"


def test_body_limit_flag(tmp_path):
    server = Presenced(tmp_path / "small", extra_args=["--body-limit", "1000"])
    try:
        admin = Client(server.url).login("admin", ADMIN_PASSWORD)
        path = "/api/v1/users/admin/presence/manual"
        answer = admin.request("PUT", path, raw=padded_manual(1000, "fits"),
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["note"] == "fits"
        answer = admin.request("PUT", path, raw=padded_manual(1001, "too big"),
                               headers={"Content-Type": "application/json"})
        error = assert_413(answer)
        assert "1000" in error["message"], error
        answer = admin.request("PUT", path, raw=padded_manual(200 * 1024, "far too big"),
                               headers={"Content-Type": "application/json"})
        assert_413(answer)
        assert admin.get("/api/v1/users/admin/presence").json()["note"] == "fits"
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        server.kill()


# ---- Bad credentials ----

def test_bad_tokens_get_401(env):
    url = env.server.url
    token = env.tokens["alice"]
    cases = {
        "none": {},
        "empty": {"Authorization": ""},
        "bearer only": {"Authorization": "Bearer"},
        "bearer and space": {"Authorization": "Bearer "},
        "garbage": {"Authorization": "Bearer garbage"},
        "long garbage": {"Authorization": "Bearer " + "g" * 10000},
        "token with a byte changed": {"Authorization": "Bearer " + token[:-1] +
                                      ("A" if token[-1] != "A" else "B")},
        "token twice": {"Authorization": "Bearer " + token + token},
        "basic scheme": {"Authorization": "Basic " + token},
        "basic credentials": {"Authorization": "Basic YWxpY2U6cHctYmFkLWlucHV0LTE="},
        "other scheme": {"Authorization": "Token " + token},
        "binary": {"Authorization": "Bearer \u00ff\u00fe"},
    }
    for name, headers in cases.items():
        for method, path, body in [("GET", "/api/v1/users/alice/presence", None),
                                   ("PUT", "/api/v1/users/alice/presence/manual",
                                    {"state": "Busy", "note": "should not be set"}),
                                   ("GET", "/api/v1/nothing", None)]:
            answer = requests.request(method, url + path, headers=headers, timeout=10,
                                      json=body)
            assert answer.status_code == 401, (name, path, answer.status_code, answer.text)
            assert_error(answer, 401, "unauthenticated")
    # Bad passwords at login.
    for body in [{"username": "alice", "password": "wrong"},
                 {"username": "nobody", "password": PASSWORD},
                 {"username": "alice", "password": PASSWORD + " "}]:
        assert_error(Client(url).post("/api/v1/auth/token", body), 401, "unauthenticated")
    # The scheme name itself is case-insensitive: the same token works as "bearer".
    answer = requests.get(url + "/api/v1/users/alice/presence",
                          headers={"Authorization": "bearer " + token}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert alice_manual(env) is None or alice_manual(env)["note"] != "should not be set"


def test_logged_out_token_gets_401(env):
    first = Client(env.server.url).login("bob", PASSWORD)
    second = Client(env.server.url).login("bob", PASSWORD)
    assert first.get("/api/v1/me").json()["id"] == "bob"
    answer = first.delete("/api/v1/auth/token")
    assert answer.status_code == 204, answer.text
    for _ in range(2):
        assert_error(first.get("/api/v1/me"), 401, "unauthenticated")
        assert_error(first.put("/api/v1/users/bob/presence/manual", {"state": "Busy"}), 401)
        assert_error(first.delete("/api/v1/auth/token"), 401)
    with pytest.raises(websocket.WebSocketBadStatusException) as failed:
        Watcher(env.server, first.token)
    assert failed.value.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as failed:
        Watcher(env.server, first.token, query_token=True)
    assert failed.value.status_code == 401
    # Only that token is gone.
    assert second.get("/api/v1/me").json()["id"] == "bob"


def test_token_of_a_deleted_user_gets_401(env):
    admin = env.client()
    admin.add_user("doomed", password=PASSWORD)
    doomed = Client(env.server.url).login("doomed", PASSWORD)
    assert doomed.get("/api/v1/me").status_code == 200
    assert admin.delete("/api/v1/users/doomed").status_code == 204
    assert_error(doomed.get("/api/v1/me"), 401, "unauthenticated")
    assert_error(Client(env.server.url).post(
        "/api/v1/auth/token", {"username": "doomed", "password": PASSWORD}), 401)


def test_expired_token_gets_401(tmp_path):
    server = Presenced(tmp_path / "ttl", extra_args=["--token-ttl-hours", "0"])
    try:
        answer = Client(server.url).post("/api/v1/auth/token",
                                         {"username": "admin", "password": ADMIN_PASSWORD})
        assert answer.status_code == 200, answer.text
        token = answer.json()["token"]
        expires = datetime.datetime.fromisoformat(answer.json()["expires_at"].replace("Z", "+00:00"))
        assert expires <= datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
        time.sleep(1.1)
        assert_error(Client(server.url, token).get("/api/v1/me"), 401, "unauthenticated")
        with pytest.raises(websocket.WebSocketBadStatusException) as failed:
            Watcher(server, token)
        assert failed.value.status_code == 401
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        server.kill()


def test_websocket_bad_tokens_get_401(env):
    for headers, query in [([], ""), (["Authorization: Bearer garbage"], ""),
                           ([], "?access_token=garbage"), ([], "?access_token="),
                           (["Authorization: Basic " + env.tokens["alice"]], "")]:
        with pytest.raises(websocket.WebSocketBadStatusException) as failed:
            websocket.create_connection(env.server.ws_url + query, header=headers, timeout=10)
        assert failed.value.status_code == 401, (headers, query)


# ---- Raw garbage on the HTTP port ----

def connect(env, timeout=10):
    host, port = env.server.url[len("http://"):].split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def send_all(s, chunks):
    """Sends what the server will take; it may close the connection early."""
    try:
        for chunk in chunks:
            s.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass


def answer_or_close(s, timeout=10):
    """Everything the server sends until it closes. Fails if it does neither in time."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            part = s.recv(65536)
            if not part:
                return data
            data += part
    except ConnectionResetError:
        return data
    except socket.timeout:
        raise AssertionError("the server neither answered nor closed within %ss; got %r"
                             % (timeout, data[:200]))


def assert_400_or_closed(data, what):
    """Nothing (closed), or one 400 whose body is a JSON error."""
    if not data:
        return
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n")[0]
    assert status_line.startswith(b"HTTP/1.1 400 "), (what, data[:300])
    headers = head.decode("latin-1").lower()
    assert "content-type: application/json" in headers, (what, head)
    error = json.loads(body)["error"]
    assert error["code"] and error["message"], (what, body)


def test_not_http_at_all(env):
    garbage = {
        "words": b"HELLO THERE\r\n\r\n",
        "tls hello": bytes.fromhex("16030100a5010000a10303") + os.urandom(160),
        "ssh banner": b"SSH-2.0-OpenSSH_9.2\r\n",
        "binary": bytes(range(256)) * 4,
        "zeros": b"\x00" * 4096,
        "bad version": b"GET /healthz HTTP/1.x\r\nHost: x\r\n\r\n",
        "no version": b"GET /healthz\r\n\r\n",
        "lf only garbage": b"\n\n\n\n\n",
        "space in method": b"G ET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "header without colon": b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
        "negative length": b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: -1\r\n\r\n{}",
        "length not a number": b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: abc\r\n\r\n{}",
        "two lengths": b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                       b"Content-Length: 5\r\n\r\n{}",
        "bad chunk size": b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n",
        "huge chunk size": b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n{}\r\n",
    }
    for name, payload in garbage.items():
        s = connect(env)
        try:
            send_all(s, [payload])
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            assert_400_or_closed(answer_or_close(s), name)
        finally:
            s.close()
    assert requests.get(env.server.url + "/healthz", timeout=5).status_code == 200


def test_hundred_kilobyte_request_line_and_endless_headers(env):
    s = connect(env)
    try:
        send_all(s, [b"GET /" + b"a" * 100 * 1024 + b" HTTP/1.1\r\nHost: x\r\n\r\n"])
        assert_400_or_closed(answer_or_close(s), "100 KB request line")
    finally:
        s.close()
    s = connect(env)
    try:
        line = b"X-Pad-%d: " + b"p" * 1000 + b"\r\n"
        send_all(s, [b"GET /healthz HTTP/1.1\r\nHost: x\r\n"] +
                 [line.replace(b"%d", str(i).encode()) for i in range(200)])
        assert_400_or_closed(answer_or_close(s), "headers without end")
    finally:
        s.close()
    s = connect(env)
    try:
        send_all(s, [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 100 * 1024])
        assert_400_or_closed(answer_or_close(s), "one endless header")
    finally:
        s.close()


def test_slowloris_half_request_then_close(env):
    """A client that dribbles a request and gives up does not hold anyone else up."""
    s = connect(env)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for i in range(8):
            s.sendall(b"X-Slow-%d: %s\r\n" % (i, b"s" * (i + 1)))
            started = time.monotonic()
            answer = requests.get(env.server.url + "/healthz", timeout=5)
            assert answer.status_code == 200
            assert time.monotonic() - started < 2
            time.sleep(0.1)
    finally:
        s.close()
    # The same with a half body: the headers promise more than comes.
    s = connect(env)
    try:
        s.sendall(b"PUT /api/v1/users/alice/presence/manual HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + env.tokens["alice"].encode() +
                  b"\r\nContent-Length: 100\r\n\r\n{\"state\": \"Offline\", \"note\": \"half")
        time.sleep(0.3)
        assert requests.get(env.server.url + "/healthz", timeout=5).status_code == 200
    finally:
        s.close()
    time.sleep(0.2)
    manual = alice_manual(env)
    assert manual is None or manual.get("note") != "half", manual


def test_many_concurrent_bad_connections(env):
    sockets = []
    try:
        for i in range(150):
            s = connect(env)
            sockets.append(s)
            if i % 3 == 0:
                send_all(s, [os.urandom(512) + b"\r\n\r\n"])
            elif i % 3 == 1:
                send_all(s, [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: "])
            else:
                send_all(s, [b"POST /api/v1/auth/token HTTP/1.1\r\nContent-Length: 10\r\n\r\n{"])
        # Everyone else is still served while these hang around.
        results = []

        def good_client():
            try:
                answer = requests.get(env.server.url + "/healthz", timeout=10)
                results.append(answer.status_code)
            except requests.RequestException as exc:
                results.append(repr(exc))

        threads = [threading.Thread(target=good_client) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        assert results == [200] * 20, results
        for i in range(0, 150, 3):
            assert_400_or_closed(answer_or_close(sockets[i]), "random bytes %d" % i)
    finally:
        for s in sockets:
            s.close()
    # And garbage from many threads at once.
    failures = []

    def bad_client(i):
        try:
            s = connect(env)
            try:
                send_all(s, [b"\x00\xff%d GARBAGE\r\n\r\n" % i] if i % 2 else
                         [b"%d GARBAGE \x00\xff\r\n\r\n" % i])
                if i % 2 == 0:
                    s.shutdown(socket.SHUT_WR)  # too short to judge until the client is done
                assert_400_or_closed(answer_or_close(s), "garbage %d" % i)
            finally:
                s.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=bad_client, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == [], failures[:5]


def test_bad_target_with_valid_token(env):
    token = env.tokens["admin"].encode()
    for target in [b"*", b"http://example.com/api/v1/users", b"/api/v1/users/%zz/presence",
                   b"/api/v1/users/a\x7fb/presence", b"//", b"/api/v1/users?%"]:
        s = connect(env)
        try:
            send_all(s, [b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         token + b"\r\n\r\n"])
            status, headers, body = read_response(s)
            assert status in (400, 404), (target, status, body)
            assert headers["content-type"].startswith("application/json"), (target, headers)
            assert json.loads(body)["error"]["code"], (target, body)
        finally:
            s.close()


# ---- WebSocket garbage ----

def ws_frame(opcode, payload, fin=True, mask=True, rsv=0):
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if n < 126:
        header = bytes([first, mask_bit | n])
    elif n < 65536:
        header = bytes([first, mask_bit | 126]) + struct.pack("!H", n)
    else:
        header = bytes([first, mask_bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return header + payload
    key = os.urandom(4)
    repeated = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big") \
        if n else b""
    return header + key + masked


def expect_error_then_usable(watcher, what):
    message = watcher.receive(timeout=5)
    assert message.get("type") == "error", (what, message)
    assert isinstance(message["error"]["code"], str) and message["error"]["code"], (what, message)
    assert isinstance(message["error"]["message"], str) and message["error"]["message"]
    watcher.send({"op": "ping", "id": "after"})
    pong = watcher.receive(timeout=5)
    assert pong == {"type": "pong", "id": "after"}, (what, pong)
    return message


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += part
    return data


def read_frame(watcher, timeout=5):
    """The next frame from the server as (opcode, payload), read straight off the socket so
    that nothing answers it on our behalf."""
    sock = watcher.socket.sock
    sock.settimeout(timeout)
    first, second = read_exactly(sock, 2)
    assert second & 0x80 == 0, "the server masked a frame"
    n = second & 0x7F
    if n == 126:
        n = struct.unpack("!H", read_exactly(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", read_exactly(sock, 8))[0]
    return first & 0x0F, read_exactly(sock, n)


def expect_close(watcher, codes, what):
    """The server sends a close frame with one of `codes`; data frames before it are skipped."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            opcode, payload = read_frame(watcher)
        except (ConnectionError, OSError) as exc:
            raise AssertionError("%s: connection ended without a close frame (%r)" % (what, exc))
        if opcode == 0x8:
            assert len(payload) >= 2, (what, payload)
            code = struct.unpack("!H", payload[:2])[0]
            assert code in codes, (what, "close code", code, payload[2:])
            return code
    raise AssertionError("%s: no close frame within 5 s" % what)


WS_BAD_TEXT = {
    "not json": "hello",
    "truncated json": '{"op": "subscribe", "users": ["alice"',
    "array": '["subscribe", "alice"]',
    "string": '"subscribe"',
    "number": "42",
    "null": "null",
    "empty": "",
    "unknown op": '{"op": "dance"}',
    "op of wrong type": '{"op": 5}',
    "no op": '{"users": ["alice"]}',
    "users not a list": '{"op": "subscribe", "users": "alice"}',
    "users of numbers": '{"op": "subscribe", "users": [1, 2]}',
    "bad user id": '{"op": "subscribe", "users": ["has space"]}',
    "subscribe nothing": '{"op": "subscribe"}',
    "contacts not a boolean": '{"op": "subscribe", "contacts": "yes"}',
    "since of wrong type": '{"op": "subscribe", "users": ["alice"], "since": {"alice": "x"}}',
    "negative since": '{"op": "subscribe", "users": ["alice"], "since": {"alice": -1}}',
    "id of wrong type": '{"op": "ping", "id": 5}',
    "input with a bad state": '{"op": "input", "state": "asleep"}',
    "deeply nested": "[" * 30000 + "]" * 30000,
    "trailing garbage": '{"op": "ping"} x',
    "unknown user": '{"op": "subscribe", "users": ["nobody"]}',
}


def test_websocket_garbage_gets_error_messages(env):
    # A well-behaved watcher of alice on another connection, to see nothing disturbs it.
    good = Watcher(env.server, env.tokens["bob"])
    good.subscribe("alice")
    good.presence_of("alice")
    bad = Watcher(env.server, env.tokens["alice"])
    try:
        for name, text in WS_BAD_TEXT.items():
            bad.send(text)
            message = expect_error_then_usable(bad, name)
            if name == "unknown user":
                assert message["error"]["code"] == "not_found", message
        bad.socket.send_binary(b'{"op": "ping", "id": "binary"}')
        expect_error_then_usable(bad, "binary frame")
        bad.socket.send_binary(bytes(range(256)))
        expect_error_then_usable(bad, "binary garbage")
        # A message of exactly the limit is still read.
        core = b'{"op": "ping", "id": "at the limit"}'
        bad.socket.send(core[:-1] + b" " * (WS_LIMIT - len(core)) + b"}",
                        opcode=websocket.ABNF.OPCODE_TEXT)
        assert bad.receive() == {"type": "pong", "id": "at the limit"}
        # The connection still works as a watcher.
        bad.subscribe("alice")
        bad.presence_of("alice")
        answer = env.client("alice").put("/api/v1/users/alice/presence/manual",
                                         {"state": "DoNotDisturb", "note": "after ws garbage"})
        assert answer.status_code == 200, answer.text
        bad.presence_of("alice", availability="DoNotDisturb", note="after ws garbage")
        good.presence_of("alice", note="after ws garbage")
    finally:
        bad.close()
        good.close()


def fresh_watcher_works(env):
    watcher = Watcher(env.server, env.tokens["alice"], query_token=True)
    try:
        watcher.send({"op": "ping", "id": "fresh"})
        assert watcher.receive() == {"type": "pong", "id": "fresh"}
        watcher.subscribe("keeper0")
        state, note = env.kept["keeper0"]
        event = watcher.presence_of("keeper0")
        assert (event["availability"], event.get("note")) == (state, note), event
    finally:
        watcher.close()


def test_websocket_message_over_the_limit_closes_with_1009(env):
    for what, send in [
        ("one text frame", lambda w: w.socket.send("x" * (WS_LIMIT + 1))),
        ("one binary frame", lambda w: w.socket.send_binary(b"x" * (WS_LIMIT + 1))),
        ("fragments", lambda w: w.socket.sock.sendall(
            ws_frame(0x1, b"[" + b" " * 40000, fin=False) +
            ws_frame(0x0, b" " * 40000 + b"]", fin=True))),
        ("a megabyte", lambda w: w.socket.send("{" + " " * MIB + "}")),
    ]:
        watcher = Watcher(env.server, env.tokens["alice"])
        try:
            try:
                send(watcher)
            except (BrokenPipeError, ConnectionResetError,
                    websocket.WebSocketConnectionClosedException):
                pass  # the server may stop reading once it has seen the frame's length
            expect_close(watcher, {1009}, what)
        finally:
            watcher.close()
        fresh_watcher_works(env)


def test_websocket_protocol_violations_close_with_1002(env):
    violations = {
        "unmasked frame": ws_frame(0x1, b'{"op": "ping"}', mask=False),
        "reserved bits": ws_frame(0x1, b'{"op": "ping"}', rsv=0b100),
        "reserved opcode": ws_frame(0x3, b"x"),
        "reserved control opcode": ws_frame(0xB, b"x"),
        "continuation without start": ws_frame(0x0, b'{"op": "ping"}'),
        "fragmented ping": ws_frame(0x9, b"p", fin=False),
        "ping over 125 bytes": ws_frame(0x9, b"p" * 200),
        "new message inside a fragmented one": ws_frame(0x1, b"[", fin=False) +
                                               ws_frame(0x1, b"]"),
        "close with a one-byte payload": ws_frame(0x8, b"\x03"),
        "close with an invalid code": ws_frame(0x8, struct.pack("!H", 999)),
    }
    for name, raw in violations.items():
        watcher = Watcher(env.server, env.tokens["alice"])
        try:
            watcher.socket.sock.sendall(raw)
            expect_close(watcher, {1002}, name)
        finally:
            watcher.close()
    fresh_watcher_works(env)


def test_websocket_invalid_utf8_text_is_refused(env):
    """Text that is not UTF-8 gets an error message or a close with a documented code."""
    for raw in [b'{"op": "ping", "id": "\xff"}', b"\xc0\xaf", b"\xed\xa0\x80"]:
        watcher = Watcher(env.server, env.tokens["alice"])
        try:
            watcher.socket.sock.sendall(ws_frame(0x1, raw))
            opcode, payload = read_frame(watcher)
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0]
                assert code == 1007, ("RFC 6455 and docs/api.md: invalid UTF-8 closes with 1007", raw, code)
            else:
                message = json.loads(payload)
                assert message["type"] == "error", (raw, message)
        finally:
            watcher.close()
    fresh_watcher_works(env)


def test_websocket_upgrade_elsewhere_or_broken(env):
    token = env.tokens["alice"]
    with pytest.raises(websocket.WebSocketBadStatusException) as failed:
        websocket.create_connection(env.server.url.replace("http", "ws") + "/api/v1/nothing",
                                    header=["Authorization: Bearer " + token], timeout=10)
    assert failed.value.status_code == 404
    # An upgrade without a key or version is no WebSocket: 400 or closed, never a hang.
    for request in [
        b"GET /api/v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n\r\n",
        b"GET /api/v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: bad\r\nSec-WebSocket-Version: 99\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n\r\n",
    ]:
        s = connect(env)
        try:
            send_all(s, [request])
            data = answer_or_close(s)
            assert not data.startswith(b"HTTP/1.1 101"), data[:200]
            if data:
                assert data.split(b" ")[1][:1] == b"4", data[:200]
        finally:
            s.close()
    fresh_watcher_works(env)


def test_no_crash_was_seen(env):
    """Runs last: no earlier test found the server dead at its start."""
    assert env.crashes == [], "presenced had died before: %s" % env.crashes
