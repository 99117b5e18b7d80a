"""XMPP federation against a real Prosody: presenced is the XEP-0114 component for uc.test,
remote users are slixmpp clients on Prosody's VirtualHosts (docs/xmpp.md)."""

import re
import socket
import time

import pytest

from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, Watcher
from prosody_process import Prosody
from xmpp_client import XmppClient

DOMAIN = "uc.test"
SECRET = "component-secret"


@pytest.fixture(scope="module")
def prosody(tmp_path_factory):
    server = Prosody(tmp_path_factory.mktemp("prosody"), ["remote.test", "evil.test"], DOMAIN,
                     SECRET)
    for user, host in (("bob", "remote.test"), ("carol", "remote.test"), ("eve", "evil.test")):
        server.register(user, host, "pw")
    yield server
    server.stop()


def start_presenced(data_dir, component_port, *extra):
    return Presenced(data_dir, ["--domain", DOMAIN, "--xmpp-component",
                                "127.0.0.1:%d" % component_port, "--xmpp-secret", SECRET,
                                "--xmpp-domain-level", "remote.test=team",
                                "--xmpp-domain-level", "evil.test=blocked", *extra])


def wait_connected(server, timeout=15):
    admin = Client(server.url).login("admin", ADMIN_PASSWORD)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = admin.get("/metrics").text
        if "presenced_xmpp_connected 1" in metrics:
            return metrics
        time.sleep(0.1)
    raise TimeoutError("component did not connect:\n" + "".join(server.log))


@pytest.fixture
def presenced(tmp_path, prosody):
    server = start_presenced(tmp_path / "data", prosody.component_port)
    wait_connected(server)
    yield server
    server.kill()


def new_user(server, user):
    """A user created by the admin, logged in as themself."""
    admin = Client(server.url).login("admin", ADMIN_PASSWORD)
    admin.add_user(user, password=user + "-password")
    return admin, Client(server.url).login(user, user + "-password")


def put_manual(client, user, **body):
    answer = client.put("/api/v1/users/%s/presence/manual" % user, body)
    assert answer.status_code in (200, 204), answer.text


def subscribe(client, contact):
    client.send_presence(contact, "subscribe")
    client.next(predicate=lambda p: p["from"] == contact and p["type"] == "subscribed")


def is_presence_from(contact):
    return lambda p: p["from"] == contact and p["type"] in ("available", "unavailable", "away",
                                                             "dnd", "xa", "chat")


def test_remote_user_subscribes_follows_changes_and_unsubscribes(presenced, prosody):
    admin = Client(presenced.url).login("admin", ADMIN_PASSWORD)
    admin.add_user("alice")
    put_manual(admin, "alice", state="Available")
    bob = XmppClient("bob@remote.test", "pw", prosody.c2s_port)
    try:
        # RFC 6121 §3.1: subscribe, approved by the domain's level, then the current presence.
        subscribe(bob, "alice@uc.test")
        first = bob.next(predicate=is_presence_from("alice@uc.test"))
        assert first["type"] == "available" and first["show"] == ""
        # Every change made through the REST API arrives within a second, note as status (Team).
        for state, note, show in (("DoNotDisturb", "in a review", "dnd"),
                                  ("Away", "back at 3", "away"),
                                  ("Busy", "", "dnd"),
                                  ("Offline", "", ""),
                                  ("Available", "here", "")):
            started = time.monotonic()
            put_manual(admin, "alice", state=state, note=note)
            got = bob.next(timeout=1, predicate=is_presence_from("alice@uc.test"))
            assert got["at"] - started < 1.0
            assert (got["show"], got["status"]) == (show, note), got
            assert got["type"] == ("unavailable" if state == "Offline" else show or "available")
        # RFC 6121 §3.3: unsubscribe ends it with our unavailable; later changes stay here.
        bob.send_presence("alice@uc.test", "unsubscribe")
        gone = bob.next(predicate=is_presence_from("alice@uc.test"))
        assert gone["type"] == "unavailable"
        put_manual(admin, "alice", state="Busy")
        assert [p for p in bob.drain(1.0) if p["from"] == "alice@uc.test"] == []
        metrics = admin.get("/metrics").text
        assert "presenced_xmpp_subscriptions 0" in metrics
        assert 'presenced_xmpp_stanzas_total{kind="presence"}' in metrics
    finally:
        bob.close()


# Logout sends unavailable (RFC 6121 §4.5); a user removed through the API says goodbye.
def test_logout_and_removal_reach_the_subscriber(presenced, prosody):
    admin, erin = new_user(presenced, "erin")
    opened = erin.post("/api/v1/users/erin/sessions", {"client_id": "desktop", "ttl_s": 60})
    assert opened.status_code == 200, opened.text
    bob = XmppClient("bob@remote.test", "pw", prosody.c2s_port)
    try:
        subscribe(bob, "erin@uc.test")
        online = bob.next(predicate=is_presence_from("erin@uc.test"))
        assert online["type"] == "available"
        closed = erin.delete("/api/v1/users/erin/sessions/desktop")
        assert closed.status_code == 204, closed.text
        gone = bob.next(timeout=1, predicate=is_presence_from("erin@uc.test"))
        assert gone["type"] == "unavailable"
        removed = admin.delete("/api/v1/users/erin")
        assert removed.status_code == 204, removed.text
        bob.next(timeout=2, predicate=lambda p: p["from"] == "erin@uc.test"
                 and p["type"] == "unsubscribed")
    finally:
        bob.close()


# Remote contacts: a presenced user adds an XMPP user and sees their changes over the WebSocket.
def test_a_local_user_watches_a_remote_xmpp_user(presenced, prosody):
    _, frank = new_user(presenced, "frank")
    carol = XmppClient("carol@remote.test", "pw", prosody.c2s_port)
    try:
        carol.set_status("dnd", "on the phone")
        added = frank.post("/api/v1/users/frank/remote-contacts",
                           {"address": "xmpp:carol@remote.test"})
        assert added.status_code == 201, added.text
        # presenced asks from its domain's JID; carol approves (RFC 6121 §3.1.4).
        carol.next(predicate=lambda p: p["from"] == DOMAIN and p["type"] == "subscribe")
        carol.send_presence(DOMAIN, "subscribed")
        watcher = Watcher(presenced, frank.token)
        watcher.subscribe("xmpp:carol@remote.test")
        seen = watcher.wait_for(lambda m: m.get("user") == "xmpp:carol@remote.test"
                                and m.get("availability") == "DoNotDisturb")
        assert seen["note"] == "on the phone"
        for show, status, availability in (("away", "lunch", "Away"), ("", "back", "Available")):
            started = time.monotonic()
            carol.set_status(show, status)
            seen = watcher.wait_for(lambda m, a=availability: m.get("user") ==
                                    "xmpp:carol@remote.test" and m.get("availability") == a,
                                    timeout=1)
            assert seen["note"] == status and time.monotonic() - started < 1.0
        # A blocked domain cannot be added.
        refused = frank.post("/api/v1/users/frank/remote-contacts",
                             {"address": "xmpp:eve@evil.test"})
        assert refused.status_code == 412, refused.text
        removed = frank.delete("/api/v1/users/frank/remote-contacts/xmpp:carol@remote.test")
        assert removed.status_code == 204, removed.text
        carol.next(predicate=lambda p: p["from"] == DOMAIN and p["type"] == "unsubscribe")
    finally:
        carol.close()


def test_blocked_domain_sees_nothing(presenced, prosody):
    admin = Client(presenced.url).login("admin", ADMIN_PASSWORD)
    admin.add_user("alice")
    put_manual(admin, "alice", state="Available", note="private")
    eve = XmppClient("eve@evil.test", "pw", prosody.c2s_port)
    try:
        eve.send_presence("alice@uc.test", "subscribe")
        answer = eve.next(predicate=lambda p: p["from"] == "alice@uc.test")
        assert answer["type"] == "unsubscribed"
        put_manual(admin, "alice", state="Busy", note="still private")
        eve.send_presence("alice@uc.test", "probe")
        seen = [p for p in eve.drain(1.0) if p["from"] == "alice@uc.test"]
        assert all(p["type"] == "unsubscribed" for p in seen), seen
    finally:
        eve.close()


def test_unknown_user_is_refused(presenced, prosody):
    carol = XmppClient("carol@remote.test", "pw", prosody.c2s_port)
    try:
        carol.send_presence("nobody@uc.test", "subscribe")
        answer = carol.next(predicate=lambda p: p["from"] == "nobody@uc.test")
        assert answer["type"] == "unsubscribed"
    finally:
        carol.close()


# Subscriptions of record survive a restart of presenced, and the component comes back after
# Prosody restarts (backoff); the subscriber then sees changes again without asking.
def test_subscription_survives_restarts_of_both_sides(tmp_path, prosody):
    server = start_presenced(tmp_path / "data", prosody.component_port)
    bob = None
    try:
        wait_connected(server)
        admin = Client(server.url).login("admin", ADMIN_PASSWORD)
        admin.add_user("dora")
        bob = XmppClient("bob@remote.test", "pw", prosody.c2s_port)
        subscribe(bob, "dora@uc.test")
        server.kill()
        server.start()
        wait_connected(server)
        admin = Client(server.url).login("admin", ADMIN_PASSWORD)
        put_manual(admin, "dora", state="DoNotDisturb", note="after restart")
        got = bob.next(timeout=5, predicate=lambda p: p["from"] == "dora@uc.test"
                       and p["show"] == "dnd")
        assert got["status"] == "after restart"
        bob.close()
        bob = None
        prosody.stop()
        prosody.start()
        wait_connected(server, timeout=40)
        assert "presenced_xmpp_connects_total" in admin.get("/metrics").text
        bob = XmppClient("bob@remote.test", "pw", prosody.c2s_port)
        put_manual(admin, "dora", state="Away", note="again")
        got = bob.next(timeout=5, predicate=lambda p: p["from"] == "dora@uc.test"
                       and p["show"] == "away")
        assert got["status"] == "again"
    finally:
        if bob:
            bob.close()
        server.kill()


class FakeXmppServer:
    """A bare TCP peer in the XMPP server's place, for input Prosody would never send."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]

    def accept(self, timeout=15):
        self.listener.settimeout(timeout)
        connection, _ = self.listener.accept()
        connection.settimeout(5)
        opening = connection.recv(4096).decode()
        assert "jabber:component:accept" in opening and "to='uc.test'" in opening
        connection.sendall(b"<?xml version='1.0'?><stream:stream "
                           b"xmlns:stream='http://etherx.jabber.org/streams' "
                           b"xmlns='jabber:component:accept' from='uc.test' id='s1'>")
        assert b"<handshake>" in connection.recv(4096)
        connection.sendall(b"<handshake/>")
        return connection

    def read_until(self, connection, needle, timeout=5):
        data = b""
        deadline = time.monotonic() + timeout
        while needle not in data and time.monotonic() < deadline:
            try:
                chunk = connection.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            data += chunk
        return data


def test_bad_input_gets_errors_and_never_stops_the_server(tmp_path):
    fake = FakeXmppServer()
    server = start_presenced(tmp_path / "data", fake.port)
    try:
        admin = Client(server.url).login("admin", ADMIN_PASSWORD)
        admin.add_user("alice")
        connection = fake.accept()
        # Stanzas for unknown users and domains: RFC 6120 stanza errors.
        connection.sendall(b"<message from='bob@remote.test/x' to='nobody@uc.test' id='m1'>"
                           b"<body>hi</body></message>")
        assert b"<item-not-found" in fake.read_until(connection, b"</message>")
        # An oversized stanza: policy-violation, and the link stays.
        connection.sendall(b"<message from='bob@remote.test/x' to='nobody@uc.test' id='m2'><body>"
                           + b"x" * 100_000 + b"</body></message>")
        assert b"<policy-violation" in fake.read_until(connection, b"</message>")
        # A subscription flood from one domain is cut at the burst.
        flood = b"".join(b"<presence from='u%d@remote.test' to='alice@uc.test' type='subscribe'/>"
                         % i for i in range(200))
        connection.sendall(flood)
        time.sleep(0.5)
        assert b"<resource-constraint" in fake.read_until(connection, b"resource-constraint")
        # A comment ends the stream with restricted-xml (RFC 6120 §11.1); presenced reconnects.
        connection.sendall(b"<!-- no -->")
        assert b"<restricted-xml" in fake.read_until(connection, b"</stream:stream>")
        connection.close()
        # Malformed XML: not-well-formed, then the next connection.
        connection = fake.accept()
        connection.sendall(b"<presence from='a@b' <<>")
        assert b"<not-well-formed" in fake.read_until(connection, b"</stream:stream>")
        connection.close()
        # A peer that disconnects mid-stanza.
        connection = fake.accept()
        connection.sendall(b"<presence from='bob@remote.test' to='al")
        connection.close()
        connection = fake.accept()
        connection.close()
        metrics = admin.get("/metrics").text
        assert 'presenced_xmpp_stanza_errors_total{condition="item-not-found"} 1' in metrics
        assert "presenced_xmpp_oversized_total 1" in metrics
        limited = re.search(r"presenced_xmpp_subscribe_limited_total (\d+)", metrics)
        assert limited and 140 <= int(limited.group(1)) <= 150, metrics
        assert server.process.poll() is None
    finally:
        server.kill()
