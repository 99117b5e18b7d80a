"""SIP federation with Kamailio's presence server in both directions (docs/sip.md, "Federation";
integrations/kamailio/presence-server.cfg), all real processes on 127.0.0.1 with free ports.

Kamailio serves the domain remote.test (presence and presence_xml over db_text) and relays
SUBSCRIBEs for example.com to presenced. presenced has Kamailio as its peer for remote.test
(business), public.test (public) and blocked.test (blocked): the same address, three domains.
"""

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kamailio_process import KAMAILIO, KamailioProcess
from presence_proxy import require, set_manual, signed_in, start_presenced
from presenced_fixture import PRESENCED, Watcher as WsWatcher
from sip_client import Publisher, Watcher, free_port, pidf_activities, pidf_basic, pidf_document

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "integrations" / "kamailio" / "presence-server.cfg"
TABLES = Path("/usr/share/kamailio/dbtext/kamailio")
DOMAIN = "example.com"
REMOTE = "remote.test"
SIP_PASSWORD = "sip-secret-federation"
# The longest subscription Kamailio grants: presenced refreshes well within it, so a stopped
# Kamailio is noticed after the refresh's timer F (32 s over UDP).
MAX_EXPIRES = 8


class RemotePresenceServer(KamailioProcess):
    """Kamailio with presence-server.cfg for REMOTE on `port`, relaying to presenced."""

    def __init__(self, workdir, port, presenced_sip_port):
        self.sip_port = port
        # Empty tables at every start: db_text cannot read back the presentity rows it wrote
        # (an empty sender is stored as null), so a restarted server has forgotten everything
        # and its users publish again.
        database = Path(workdir) / "db"
        shutil.rmtree(database, ignore_errors=True)
        database.mkdir(parents=True)
        for table in ("version", "presentity", "active_watchers", "watchers", "xcap"):
            shutil.copy(TABLES / table, database / table)
        super().__init__(workdir, CONFIG, port, [
            'PRESENCE_DOMAIN="%s"' % REMOTE, 'PRESENCED_DOMAIN="%s"' % DOMAIN,
            'PRESENCED_SIP="sip:127.0.0.1:%d"' % presenced_sip_port,
            'DB_URL="text://%s"' % database, "MAX_EXPIRES=%d" % MAX_EXPIRES, "WITH_DEBUG"])


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    """presenced (alice, bob) with Kamailio as its peer, and Kamailio."""
    require({"kamailio": KAMAILIO})
    if not (TABLES / "presentity").exists():
        pytest.skip("Kamailio's db_text tables are not installed (see scripts/setup)")
    tmp = tmp_path_factory.mktemp("sip_federation")
    port = free_port()
    peer = "127.0.0.1:%d" % port
    server, admin = start_presenced(
        tmp / "data", {"alice": SIP_PASSWORD, "bob": SIP_PASSWORD},
        ["--sip-peer", "%s=%s,level=business" % (REMOTE, peer),
         "--sip-peer", "public.test=%s,level=public" % peer,
         "--sip-peer", "blocked.test=%s,level=blocked,transport=udp" % peer])
    try:
        kamailio = RemotePresenceServer(tmp / "kamailio", port, server.sip_port)
    except BaseException:
        server.kill()
        raise
    state = {"server": server, "admin": admin, "kamailio": kamailio, "workdir": tmp / "kamailio"}
    yield state
    state["kamailio"].stop()
    print("---- kamailio log ----\n" + state["kamailio"].log())
    assert server.stop() == 0


def publish(kamailio, user, basic="open", activity=None, note=None, if_match=None):
    """A PUBLISH of `user`@REMOTE's presence to Kamailio (no digest in that domain): a new
    publication, or with `if_match` a modification of that one (RFC 3903 §4.4). Returns its
    entity tag."""
    publisher = Publisher(kamailio, "UDP", user, None, domain=REMOTE)
    try:
        answer, _ = publisher.publish_once(
            pidf_document("sip:%s@%s" % (user, REMOTE), basic, activity, note), 3600, if_match,
            None, "presence", "application/pidf+xml", None)
    finally:
        publisher.close()
    assert answer is not None and answer.status == 200, answer
    return answer.header("SIP-ETag")


def add_remote(client, user, address):
    return client.post("/api/v1/users/%s/remote-contacts" % user, {"address": address})


def ws_for(server, client):
    return WsWatcher(server, client.token)


def test_remote_contacts_refuse_what_no_peer_serves(system):
    alice = signed_in(system["server"], "alice")
    for address, status, code in [("sip:carol@elsewhere.test", 412, "failed_precondition"),
                                  ("xmpp:carol@%s" % REMOTE, 412, "failed_precondition"),
                                  ("tel:+4930123", 400, "invalid_argument"),
                                  ("sip:ca rol@%s" % REMOTE, 400, "invalid_argument")]:
        answer = add_remote(alice, "alice", address)
        assert answer.status_code == status, (address, answer.text)
        assert answer.json()["error"]["code"] == code, answer.text
    # A remote presentity is no local user: not listed, and no owner of remote contacts.
    assert system["admin"].get("/api/v1/users/sip:carol@%s/remote-contacts" % REMOTE
                               ).status_code == 404


def test_a_remote_publication_reaches_a_local_watcher(system):
    # (a) carol@remote.test publishes to Kamailio; alice, who added her, sees it at once.
    server, kamailio = system["server"], system["kamailio"]
    carol = "sip:carol@%s" % REMOTE
    etag = publish(kamailio, "carol", activity="away", note="at lunch")
    alice = signed_in(server, "alice")
    answer = add_remote(alice, "alice", carol)
    assert answer.status_code == 201, answer.text
    assert add_remote(alice, "alice", carol).status_code == 200  # already there
    assert alice.get("/api/v1/users/alice/remote-contacts").json() == {"addresses": [carol]}
    assert carol in alice.get("/api/v1/users/alice/contacts").json()["users"]
    ws = ws_for(server, alice)
    try:
        ws.send({"op": "subscribe", "contacts": True})
        seen = ws.presence_of(carol, timeout=5, availability="Away")
        assert seen["note"] == "at lunch", seen
        started = time.monotonic()
        publish(kamailio, "carol", activity="on-the-phone", if_match=etag)
        ws.presence_of(carol, timeout=1, availability="Busy", activity="InACall")
        print("remote PUBLISH to WebSocket event: %.0f ms" % ((time.monotonic() - started) * 1000))
    finally:
        ws.close()
    presence = alice.get("/api/v1/users/%s/presence" % carol)
    assert presence.status_code == 200 and presence.json()["activity"] == "InACall", presence.text
    # Not a local user: not in the directory, and no login.
    ids = [u["id"] for u in system["admin"].get("/api/v1/users").json()["users"]]
    assert carol not in ids
    # Its presence is what its server says: no local layer can be written, not even by an admin.
    for method, path, body in [("PUT", "presence/manual", {"state": "Busy"}),
                               ("PUT", "presence/calendar", {"appointments": []}),
                               ("DELETE", "presence/manual", None)]:
        answer = system["admin"].request(method, "/api/v1/users/%s/%s" % (carol, path), body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert "remote contact" in answer.json()["error"]["message"], answer.text
    assert alice.get("/api/v1/users/%s/presence" % carol).json()["activity"] == "InACall"


def watcher_through_kamailio(system, user, domain):
    """A SIP UA of `domain` subscribing through Kamailio to presenced's users."""
    return Watcher(system["kamailio"], "UDP", user, None, domain=domain, target_domain=DOMAIN)


def subscribed(watcher, target):
    answer, _ = watcher.subscribe_once(target, 600)
    assert answer is not None and answer.status == 200, answer
    watcher.follow_dialog(answer)
    return answer


@pytest.mark.parametrize("domain,note_shown", [(REMOTE, True), ("public.test", False)])
def test_a_peer_user_sees_ours_at_the_domain_level(system, domain, note_shown):
    # (b) No digest: presenced trusts Kamailio's address for its domains.
    server = system["server"]
    bob = signed_in(server, "bob")
    set_manual(bob, "bob", "Available")
    watcher = watcher_through_kamailio(system, "wendy", domain)
    try:
        subscribed(watcher, "bob")
        first = watcher.wait_notify(timeout=3)
        assert first is not None and pidf_basic(first) == "open", first
        answer = bob.put("/api/v1/users/bob/presence/manual",
                         {"state": "Busy", "note": "plans for Q3"})
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 3
        notify = None
        while time.monotonic() < deadline:
            notify = watcher.wait_notify(timeout=1)
            if notify is not None and "busy" in pidf_activities(notify):
                break
        assert notify is not None and "busy" in pidf_activities(notify), notify
        assert ("plans for Q3" in notify.body) == note_shown, notify.body
    finally:
        watcher.close()


def test_a_blocked_domain_gets_the_neutral_document(system):
    server = system["server"]
    bob = signed_in(server, "bob")
    set_manual(bob, "bob", "Busy")
    watcher = watcher_through_kamailio(system, "mallory", "blocked.test")
    try:
        subscribed(watcher, "bob")
        notify = watcher.wait_notify(timeout=3)
        assert notify is not None, "no NOTIFY"
        assert pidf_basic(notify) == "closed" and pidf_activities(notify) == [], notify.body
        assert "note" not in notify.body, notify.body
    finally:
        watcher.close()


def test_an_unknown_domain_still_needs_a_digest(system):
    watcher = watcher_through_kamailio(system, "eve", "unknown.test")
    try:
        answer, _ = watcher.subscribe_once("bob", 600)
        assert answer is not None and answer.status == 401, answer
    finally:
        watcher.close()


def test_removing_the_last_contact_ends_the_remote_dialog(system):
    # (c) The last local watcher gone: an unsubscribe (Expires: 0) reaches Kamailio.
    server, kamailio = system["server"], system["kamailio"]
    dave = "sip:dave@%s" % REMOTE
    publish(kamailio, "dave", activity="busy")
    alice, bob = signed_in(server, "alice"), signed_in(server, "bob")
    assert add_remote(alice, "alice", dave).status_code == 201
    assert add_remote(bob, "bob", dave).status_code == 201
    assert alice.delete("/api/v1/users/alice/remote-contacts/%s" % dave).status_code == 204
    assert alice.delete("/api/v1/users/alice/remote-contacts/%s" % dave).status_code == 404
    # bob still has it: still watched.
    assert bob.get("/api/v1/users/%s/presence" % dave).status_code == 200
    assert bob.delete("/api/v1/users/bob/remote-contacts/%s" % dave).status_code == 204
    assert bob.get("/api/v1/users/%s/presence" % dave).status_code == 404
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not unsubscribed(kamailio, "dave"):
        time.sleep(0.1)
    assert unsubscribed(kamailio, "dave"), kamailio.log()[-3000:]


def unsubscribed(kamailio, user):
    """Whether Kamailio took an unsubscribe (Expires: 0) from presenced for user@REMOTE, as its
    presence route logs every request it handles."""
    return ("presence: SUBSCRIBE to sip:%s@%s from sip:presenced@%s expires 0"
            % (user, REMOTE, DOMAIN)) in kamailio.log()


def test_a_stopped_peer_shows_unknown_and_recovers(system):
    # (d) Kamailio stops: the next refresh times out and the contact shows unknown; Kamailio
    # back, the next attempt subscribes again and the publication shows once more.
    server = system["server"]
    erin = "sip:erin@%s" % REMOTE
    publish(system["kamailio"], "erin", activity="away")
    alice = signed_in(server, "alice")
    assert add_remote(alice, "alice", erin).status_code == 201
    ws = ws_for(server, alice)
    try:
        ws.subscribe(erin)
        ws.presence_of(erin, timeout=5, availability="Away")
        port = system["kamailio"].sip_port
        system["kamailio"].stop()
        # A refresh within MAX_EXPIRES, then timer F (32 s) and the 408: rule remote_unknown,
        # Offline with the offline flag (docs/presence-rules.md).
        unknown = ws.presence_of(erin, timeout=MAX_EXPIRES + 40, availability="Offline")
        assert "offline" in unknown["flags"], unknown
        system["kamailio"] = RemotePresenceServer(system["workdir"], port, server.sip_port)
        publish(system["kamailio"], "erin", activity="away", note="back")
        # The retry comes after the backoff (5 s, doubling).
        ws.presence_of(erin, timeout=30, availability="Away")
    finally:
        ws.close()



def test_remote_contacts_are_watched_again_after_a_restart(system):
    # Stored as documents, the remote contacts come back and their dialogs are made anew;
    # erin published again in the test before.
    server = system["server"]
    erin = "sip:erin@%s" % REMOTE
    server.restart()
    alice = signed_in(server, "alice")
    assert erin in alice.get("/api/v1/users/alice/remote-contacts").json()["addresses"]
    ws = ws_for(server, alice)
    try:
        ws.send({"op": "subscribe", "contacts": True})
        ws.presence_of(erin, timeout=5, availability="Away")
    finally:
        ws.close()
    # A PUT of the contacts keeps the remote ones.
    assert alice.put("/api/v1/users/alice/contacts", {"users": ["bob"]}).status_code == 200
    assert set(alice.get("/api/v1/users/alice/contacts").json()["users"]) >= {"bob", erin}

@pytest.mark.parametrize("peer,why", [
    ("remote.test", "not DOMAIN=HOST:PORT"),
    ("remote.test=peer.example:5060", "not a numeric address"),
    ("remote.test=127.0.0.1:0", "not HOST:PORT"),
    ("remote.test=127.0.0.1:5060,level=friends", "level friends"),
    ("remote.test=127.0.0.1:5060,transport=tcp", "transport=tcp"),
    ("remote.test=127.0.0.1:5060,colour=blue", "unknown option"),
])
def test_a_bad_peer_flag_exits_2_naming_it(tmp_path, peer, why):
    result = subprocess.run(
        [PRESENCED, "--data-dir", str(tmp_path), "--http", "127.0.0.1:0", "--sip",
         "127.0.0.1:0", "--sip-peer", peer], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2, result
    assert "--sip-peer" in result.stdout + result.stderr and why in result.stdout + result.stderr, \
        result
