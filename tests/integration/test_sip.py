"""The SIP listener (docs/sip.md, "The listener and its answers") against a real presenced
started with --sip 127.0.0.1:0: sipp (Debian sip-tester) for OPTIONS and the challenge, a small
client of our own where sipp falls short (digest with SHA-256, offered first: sipp 3.6 answers
only an MD5 challenge given first) and raw sockets for bytes no phone sends (a malformed request,
an exact retransmission).
"""

import hashlib
import os
import re
import socket
import time

import pytest

from presenced_fixture import ADMIN_PASSWORD, Client, Presenced
from sip_client import (SIPP, Watcher, digest_authorization, message, pidf_activities,
                        pidf_basic, request, responses, run_sipp, udp_exchange)
SIP_PASSWORD = "sip-secret-1"


@pytest.fixture(scope="module")
def sip(tmp_path_factory):
    """presenced with SIP on a free port, and user alice with a SIP password."""
    if SIPP is None:
        pytest.skip("sipp (Debian sip-tester) is not installed")
    server = Presenced(tmp_path_factory.mktemp("sip"), extra_args=["--sip", "127.0.0.1:0",
                                                                   "--domain", "example.com"])
    match = next(re.search(r"listening on sip:127\.0\.0\.1:(\d+)", line)
                 for line in server.log if "listening on sip:" in line)
    admin = Client(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    admin.add_user("alice", sip_password=SIP_PASSWORD)
    server.sip_port = int(match.group(1))
    yield server
    assert server.stop() == 0


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_options_gets_200_with_allow_allow_events_and_accept(sip, tmp_path, transport):
    # RFC 3261 §11.2, over UDP and TCP
    status, trace = run_sipp(sip, tmp_path, "sip_options", transport)
    assert status == 0, trace
    assert responses(trace) == ["200"]
    assert re.search(r"^Allow: OPTIONS, SUBSCRIBE, NOTIFY, PUBLISH\r?$", trace, re.M), trace
    assert re.search(r"^Allow-Events: presence, dialog, presence\.winfo\r?$", trace, re.M), trace
    assert re.search(r"^Accept: application/pidf\+xml\r?$", trace, re.M), trace


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_subscribe_without_credentials_is_challenged_with_sha256_then_md5(sip, tmp_path,
                                                                          transport):
    # RFC 3261 §22.2, RFC 8760 §2.4
    status, trace = run_sipp(sip, tmp_path, "sip_subscribe_challenge", transport,
                             {"user": "alice", "event": "presence"})
    assert status == 0, trace
    assert responses(trace) == ["401"]
    challenges = re.findall(r"^WWW-Authenticate: Digest (.*)$", trace, re.M)
    assert len(challenges) == 2, trace
    assert "algorithm=SHA-256" in challenges[0] and 'realm="example.com"' in challenges[0]
    assert "algorithm=MD5" in challenges[1] and 'qop="auth"' in challenges[1]


class Phone:
    """A minimal SIP client over UDP or TCP that answers a digest challenge (RFC 7616 §3.4)
    with the algorithm it is told to pick. sipp 3.6 takes only the first challenge and knows
    only MD5, so it cannot be that client here."""

    def __init__(self, server, transport):
        self.server = server
        self.transport = transport
        self.cseq = 0
        if transport == "UDP":
            self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.socket.bind(("127.0.0.1", 0))
        else:
            self.socket = socket.create_connection(("127.0.0.1", server.sip_port), timeout=3)
        self.socket.settimeout(3)
        self.port = self.socket.getsockname()[1]
        self.buffer = b""

    def close(self):
        self.socket.close()

    def exchange(self, payload):
        if self.transport == "UDP":
            self.socket.sendto(payload, ("127.0.0.1", self.server.sip_port))
            return self.socket.recv(65535).decode()
        self.socket.sendall(payload)
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.socket.recv(65535)
            assert chunk, "connection closed"
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        return head.decode() + "\r\n\r\n"  # our answers here have no body

    def subscribe(self, event, user, authorization=None):
        self.cseq += 1
        uri = "sip:%s@example.com" % user
        lines = [
            "SUBSCRIBE %s SIP/2.0" % uri,
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-%s" % (
                self.transport, self.port, hashlib.md5(os.urandom(8)).hexdigest()),
            "From: <%s>;tag=p%d" % (uri, self.port),
            "To: <%s>" % uri,
            "Call-ID: phone-%d@127.0.0.1" % self.port,
            "CSeq: %d SUBSCRIBE" % self.cseq,
            "Contact: <sip:%s@127.0.0.1:%d>" % (user, self.port),
            "Max-Forwards: 70",
            "Event: %s" % event,
            "Expires: 600",
        ]
        if authorization:
            lines.append("Authorization: " + authorization)
        lines.append("Content-Length: 0")
        return self.exchange(message(lines)), uri

    def authenticated_subscribe(self, event, user, password, algorithm):
        challenge, uri = self.subscribe(event, user)
        assert challenge.startswith("SIP/2.0 401 "), challenge
        authorization = digest_authorization(challenge, "SUBSCRIBE", uri, user, password,
                                             algorithm)
        answer, _ = self.subscribe(event, user, authorization)
        return answer


@pytest.fixture(params=["UDP", "TCP"])
def phone(sip, request):
    client = Phone(sip, request.param)
    yield client
    client.close()


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_authenticated_subscribe_for_an_unknown_event_gets_489(phone, algorithm):
    # RFC 6665 §8.2.1: 489 with the packages we know
    answer = phone.authenticated_subscribe("message-summary", "alice", SIP_PASSWORD, algorithm)
    assert answer.startswith("SIP/2.0 489 "), answer
    assert re.search(r"^Allow-Events: presence, dialog, presence\.winfo\r?$", answer, re.M)


@pytest.mark.parametrize("event", ["dialog", "presence.winfo"])
def test_authenticated_subscribe_gets_past_authentication(phone, event):
    # alice to her own dialogs and watchers: 200 (test_sip_dialog.py has the exchanges).
    answer = phone.authenticated_subscribe(event, "alice", SIP_PASSWORD, "SHA-256")
    assert answer.startswith("SIP/2.0 200 "), answer


def test_wrong_password_gets_403(phone):
    answer = phone.authenticated_subscribe("presence", "alice", "not-it", "SHA-256")
    assert answer.startswith("SIP/2.0 403 "), answer


def test_unknown_user_gets_403(phone):
    answer = phone.authenticated_subscribe("presence", "mallory", SIP_PASSWORD, "MD5")
    assert answer.startswith("SIP/2.0 403 "), answer


def test_malformed_request_gets_400_and_the_server_keeps_serving(sip):
    answer = udp_exchange(sip, request("OPTIONS", "z9hG4bK-bad-1", "bad-1",
                                       ["Max-Forwards: lots"]))
    assert answer.startswith("SIP/2.0 400 "), answer
    assert "Call-ID: bad-1" in answer
    assert udp_exchange(sip, b"\x00\xffgarbage\r\n\r\n", expect_answer=False) is None
    answer = udp_exchange(sip, request("OPTIONS", "z9hG4bK-after-1", "after-1"))
    assert answer.startswith("SIP/2.0 200 "), answer
    # On TCP the stream cannot be framed any more: answered, then closed.
    with socket.create_connection(("127.0.0.1", sip.sip_port), timeout=3) as s:
        s.sendall(request("OPTIONS", "z9hG4bK-bad-2", "bad-2", ["Content-Length: x"]))
        data = b""
        while True:
            chunk = s.recv(65535)
            if not chunk:
                break
            data += chunk
    assert data.decode().startswith("SIP/2.0 400 "), data


def test_udp_retransmission_gets_the_same_answer(sip):
    # RFC 3261 §17.2.2: the server transaction answers a retransmission with its last response
    payload = request("SUBSCRIBE", "z9hG4bK-retrans-1", "retrans-1",
                      ["Event: presence", "Max-Forwards: 70"])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(payload, ("127.0.0.1", sip.sip_port))
        first = s.recv(65535)
        time.sleep(0.1)
        s.sendto(payload, ("127.0.0.1", sip.sip_port))
        second = s.recv(65535)
    assert first.startswith(b"SIP/2.0 401 ")
    # Byte for byte: the same nonce and To tag, so not a second challenge.
    assert second == first


def test_sigterm_with_open_connections_and_live_transactions_exits_cleanly(tmp_path):
    # A TCP connection mid-message and a UDP transaction in timer J must not hold shutdown up.
    if SIPP is None:
        pytest.skip("sipp (Debian sip-tester) is not installed")
    server = Presenced(tmp_path, extra_args=["--sip", "127.0.0.1:0"])
    port = int(next(re.search(r"listening on sip:127\.0\.0\.1:(\d+)", line)
                    for line in server.log if "listening on sip:" in line).group(1))
    with socket.create_connection(("127.0.0.1", port), timeout=3) as half_sent:
        half_sent.sendall(b"OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1")
        server.sip_port = port
        assert udp_exchange(server, request("OPTIONS", "z9hG4bK-stop-1", "stop-1")).startswith(
            "SIP/2.0 200 ")
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 5


# ---- SUBSCRIBE/NOTIFY for the presence package (RFC 6665, RFC 3856) ----

@pytest.fixture(scope="module")
def admin(sip):
    client = Client(sip.url)
    client.login("admin", ADMIN_PASSWORD)
    for user in ("bob", "carol"):
        client.add_user(user, sip_password=SIP_PASSWORD)
    # carol is blocked by alice: a neutral document (RFC 3856 §6.6.1 lets the notifier decide).
    answer = client.put("/api/v1/users/alice/visibility/carol", {"level": "blocked"})
    assert answer.status_code == 200, answer.text
    return client


def set_manual(admin, user, **body):
    answer = admin.put("/api/v1/users/%s/presence/manual" % user, body)
    assert answer.status_code == 200, answer.text


@pytest.fixture(params=["UDP", "TCP"])
def transport(request):
    return request.param


def test_subscribe_notify_on_change_and_unsubscribe(sip, admin, transport):
    set_manual(admin, "alice", state="Available")
    bob = Watcher(sip, transport, "bob", SIP_PASSWORD)
    try:
        # RFC 6665 §4.2.1.1: 200 with our To tag and the granted Expires, then NOTIFY at once
        answer = bob.subscribe("alice", expires=600)
        assert answer.status == 200, answer
        assert answer.header("Expires") == "600"
        assert bob.to_tag
        notify = bob.wait_notify()
        assert notify is not None, "no initial NOTIFY"
        assert notify.header("Event") == "presence"
        assert notify.header("Content-Type") == "application/pidf+xml"
        assert re.fullmatch(r"active;expires=(600|599)", notify.header("Subscription-State"))
        # RFC 6665 §4.2.2 / RFC 3261 §12.2.1.1: in the dialog, From and To swapped
        assert ";tag=%s" % bob.to_tag in notify.header("From")
        assert ";tag=%s" % bob.tag in notify.header("To")
        assert notify.header("Call-ID") == bob.call_id
        assert 'entity="sip:alice@example.com"' in notify.body
        assert pidf_basic(notify) == "open"

        # A change through the REST API reaches the subscriber within a second.
        set_manual(admin, "alice", state="DoNotDisturb", note="focus time")
        started = time.monotonic()
        notify = bob.wait_notify(timeout=1)
        assert notify is not None and time.monotonic() - started < 1, "no NOTIFY within 1 s"
        assert pidf_basic(notify) == "open"
        assert pidf_activities(notify) == ["busy"]  # RFC 4480 §3.2
        assert "<note>focus time</note>" in notify.body

        # RFC 6665 §4.1.2.2: a refresh in the dialog; a NOTIFY with the current state follows
        answer = bob.subscribe("alice", expires=300)
        assert answer.status == 200, answer
        assert answer.header("Expires") == "300"
        notify = bob.wait_notify()
        assert notify is not None
        assert re.fullmatch(r"active;expires=(300|299)", notify.header("Subscription-State"))

        # RFC 6665 §4.1.2.3: Expires 0 ends it; the final NOTIFY says terminated
        answer = bob.subscribe("alice", expires=0)
        assert answer.status == 200, answer
        notify = bob.wait_notify()
        assert notify is not None
        assert notify.header("Subscription-State") == "terminated;reason=timeout"
        # Nothing more comes for this dialog.
        set_manual(admin, "alice", state="Available")
        assert bob.wait_notify(timeout=0.5) is None
        # A refresh of the ended dialog is 481 (RFC 6665 §4.2.1.2).
        answer = bob.subscribe("alice", expires=600)
        assert answer.status == 481, answer
    finally:
        bob.close()


def test_blocked_watcher_gets_a_neutral_closed_document(sip, admin, transport):
    set_manual(admin, "alice", state="DoNotDisturb", note="secret plans")
    carol = Watcher(sip, transport, "carol", SIP_PASSWORD)
    try:
        answer = carol.subscribe("alice")
        assert answer.status == 200, answer
        notify = carol.wait_notify()
        assert notify is not None
        assert pidf_basic(notify) == "closed"
        assert pidf_activities(notify) == []
        assert "secret plans" not in notify.body and "<note>" not in notify.body
        assert carol.subscribe("alice", expires=0).status == 200
    finally:
        carol.close()


def test_subscribe_to_an_unknown_user_gets_404(sip, admin, transport):
    bob = Watcher(sip, transport, "bob", SIP_PASSWORD)
    try:
        assert bob.subscribe("nobody").status == 404
    finally:
        bob.close()


def test_a_deleted_presentity_ends_the_subscription_with_noresource(sip, admin, transport):
    # RFC 6665 §4.2.2: deleting the user through the REST API ends the SIP subscriptions to it.
    name = "gone-" + transport.lower()
    admin.add_user(name)
    bob = Watcher(sip, transport, "bob", SIP_PASSWORD)
    try:
        assert bob.subscribe(name).status == 200
        assert bob.wait_notify() is not None
        answer = admin.delete("/api/v1/users/" + name)
        assert answer.status_code in (200, 204), answer.text
        last = bob.wait_notify(timeout=2)
        assert last is not None, "no final NOTIFY"
        assert last.header("Subscription-State").startswith("terminated;reason=noresource"), last
        assert last.body == ""
    finally:
        bob.close()


def test_expires_below_the_minimum_gets_423_with_min_expires(sip, admin, transport):
    # RFC 6665 §4.2.1.1, RFC 3261 §21.4.17
    bob = Watcher(sip, transport, "bob", SIP_PASSWORD)
    try:
        answer = bob.subscribe("alice", expires=10)
        assert answer.status == 423, answer
        assert answer.header("Min-Expires") == "60"
        assert bob.wait_notify(timeout=0.3) is None
    finally:
        bob.close()


def test_accept_without_pidf_gets_406(sip, admin):
    # RFC 3856 §6.7
    bob = Watcher(sip, "UDP", "bob", SIP_PASSWORD)
    try:
        answer = bob.subscribe("alice", accept="application/xpidf+xml")
        assert answer.status == 406, answer
        assert answer.header("Accept") == "application/pidf+xml"
    finally:
        bob.close()


def test_notify_answered_481_ends_the_subscription(sip, admin):
    # RFC 6665 §4.2.2: the subscriber no longer knows the dialog
    set_manual(admin, "alice", state="Available")
    bob = Watcher(sip, "UDP", "bob", SIP_PASSWORD)
    try:
        assert bob.subscribe("alice").status == 200
        assert bob.wait_notify() is not None
        set_manual(admin, "alice", state="Away")
        notify = bob.receive(timeout=2)
        assert notify is not None and notify.method == "NOTIFY", notify
        bob.answer(notify, 481, "Subscription Does Not Exist")
        set_manual(admin, "alice", state="Busy")
        assert bob.receive(timeout=0.5) is None
        answer = bob.subscribe("alice")
        assert answer.status == 481, answer
    finally:
        bob.close()
