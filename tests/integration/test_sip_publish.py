"""PUBLISH of presence (RFC 3903, RFC 3856 §6; docs/sip.md, "Publications") against a real
presenced started with --sip 127.0.0.1:0: what a SIP phone publishes reaches REST readers and
WebSocket watchers, refreshes, modifies and removes by entity tag, expires, competes with manual
changes by time, and an acknowledged publication survives kill -9.
"""

import re
import time

import pytest

from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, Watcher as WsWatcher, bearer
from sip_client import (SIPP, Publisher, Watcher as SipWatcher, pidf_activities, pidf_basic,
                        pidf_document, responses, run_sipp)

SIP_PASSWORD = "sip-secret-1"
_users = iter(range(1, 1000))


def start(path):
    server = Presenced(path, extra_args=["--sip", "127.0.0.1:0", "--domain", "example.com"])
    server.sip_port = int(next(re.search(r"listening on sip:127\.0\.0\.1:(\d+)", line)
                               for line in server.log if "listening on sip:" in line).group(1))
    return server


@pytest.fixture(scope="module")
def sip(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("sip_publish") / "data")
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def admin(sip):
    return Client(sip.url).login("admin", ADMIN_PASSWORD)


@pytest.fixture(params=["UDP", "TCP"])
def transport(request):
    return request.param


def new_sip_user(admin):
    user = "pub%d" % next(_users)
    admin.add_user(user, sip_password=SIP_PASSWORD)
    return user, bearer(admin, user)


def presence(client, user):
    answer = client.get("/api/v1/users/%s/presence" % user)
    assert answer.status_code == 200, answer.text
    return answer.json()


def explanation(client, user):
    """Why the user shows what they show (GET .../layers, the self view)."""
    answer = client.get("/api/v1/users/%s/layers" % user)
    assert answer.status_code == 200, answer.text
    return answer.json()["presence"]["explanation"]


def away(user, note="back at 3"):
    return pidf_document("pres:%s@example.com" % user, "open", "away", note)


def test_publish_reaches_rest_and_a_websocket_watcher_within_a_second(sip, admin, transport):
    user, client = new_sip_user(admin)
    ws = WsWatcher(sip, client.token)
    ws.subscribe(user)  # the watcher's own connection signs the user in
    ws.presence_of(user, availability="Available")
    phone = Publisher(sip, transport, user, SIP_PASSWORD)
    try:
        answer = phone.publish(away(user), expires=600)
        acknowledged = time.monotonic()
        assert answer.status == 200, answer
        assert re.fullmatch(r"[0-9a-f]{32}", answer.header("SIP-ETag")), answer
        assert answer.header("Expires") == "600", answer
        event = ws.presence_of(user, timeout=1, availability="Away")
        assert time.monotonic() - acknowledged < 1.0
        assert event["note"] == "back at 3", event
        why = explanation(client, user)
        assert (why["layer"], why["rule"]) == ("sip", "sip_publication"), why
        now = presence(client, user)
        assert (now["availability"], now["activity"], now["note"]) == ("Away", "Away",
                                                                      "back at 3"), now
    finally:
        phone.close()
        ws.close()


def test_a_sip_subscriber_gets_the_published_state_in_a_notify(sip, admin, transport):
    user, _ = new_sip_user(admin)
    watcher_user, _ = new_sip_user(admin)
    watcher = SipWatcher(sip, transport, watcher_user, SIP_PASSWORD)
    phone = Publisher(sip, transport, user, SIP_PASSWORD)
    try:
        assert watcher.subscribe(user).status == 200
        assert pidf_basic(watcher.wait_notify()) == "closed"
        assert phone.publish(away(user, "at lunch"), expires=600).status == 200
        notify = watcher.wait_notify(timeout=1)
        assert notify is not None
        assert pidf_basic(notify) == "open" and pidf_activities(notify) == ["away"], notify
        assert "at lunch" in notify.body, notify
    finally:
        phone.close()
        watcher.close()


def test_refresh_modify_remove_and_412(sip, admin, transport):
    user, client = new_sip_user(admin)
    phone = Publisher(sip, transport, user, SIP_PASSWORD)
    try:
        assert phone.publish(away(user), expires=600).status == 200
        first = phone.etag
        # RFC 3903 §4.3: refresh, no body: a new tag and expiry, the same state
        refreshed = phone.publish(expires=900, if_match=first)
        assert refreshed.status == 200, refreshed
        assert phone.etag != first and refreshed.header("Expires") == "900", refreshed
        assert presence(client, user)["availability"] == "Away"
        # the old tag is gone: 412 (§6 step 4)
        assert phone.publish(if_match=first).status == 412
        # §4.4: modify
        body = pidf_document("sip:%s@example.com" % user, "open", "on-the-phone")
        assert phone.publish(body, if_match=phone.etag).status == 200
        now = presence(client, user)
        assert (now["availability"], now["activity"]) == ("Busy", "InACall"), now
        # §4.5: remove
        removed = phone.publish(expires=0, if_match=phone.etag)
        assert removed.status == 200 and removed.header("SIP-ETag") is None, removed
        assert presence(client, user)["availability"] == "Offline"
        assert phone.publish(expires=0, if_match=phone.etag).status == 412
        assert phone.publish(if_match="0123456789abcdef0123456789abcdef").status == 412
    finally:
        phone.close()


def test_refusals(sip, admin):
    user, client = new_sip_user(admin)
    other, _ = new_sip_user(admin)
    phone = Publisher(sip, "UDP", user, SIP_PASSWORD)
    try:
        assert phone.publish().status == 400  # an initial PUBLISH needs a body
        wrong_type = phone.publish(away(user), content_type="text/plain")
        assert wrong_type.status == 415 and wrong_type.header("Accept") == "application/pidf+xml"
        bad_event = phone.publish(away(user), event="dialog")
        assert bad_event.status == 489 and bad_event.header("Allow-Events") == "presence"
        brief = phone.publish(away(user), expires=10)
        assert brief.status == 423 and brief.header("Min-Expires") == "60", brief
        assert phone.publish(away(user), target=other).status == 403
        assert phone.publish(away(other)).status == 403
        assert phone.publish("<presence").status == 400
        assert presence(client, user)["availability"] == "Offline"
    finally:
        phone.close()


def test_newest_of_manual_and_publication_wins(sip, admin):
    user, client = new_sip_user(admin)
    phone = Publisher(sip, "UDP", user, SIP_PASSWORD)
    try:
        assert phone.publish(away(user), expires=600).status == 200
        time.sleep(0.01)
        answer = client.put("/api/v1/users/%s/presence/manual" % user, {"state": "Busy"})
        assert answer.status_code == 200, answer.text
        now = presence(client, user)
        assert now["availability"] == "Busy" and explanation(client, user)["rule"] == "manual"
        # a refresh says nothing new: the later manual choice stays
        assert phone.publish(if_match=phone.etag, expires=600).status == 200
        assert presence(client, user)["availability"] == "Busy"
        # a later publication with a body wins again
        assert phone.publish(away(user, "gone"), if_match=phone.etag).status == 200
        now = presence(client, user)
        assert (now["availability"], now["note"]) == ("Away", "gone"), now
        # removing it brings the manual state back
        assert phone.publish(expires=0, if_match=phone.etag).status == 200
        assert presence(client, user)["availability"] == "Busy"
    finally:
        phone.close()


def test_a_publication_expires(sip, admin):
    user, client = new_sip_user(admin)
    ws = WsWatcher(sip, client.token)
    ws.subscribe(user)  # the watcher's own connection signs the user in
    ws.presence_of(user, availability="Available")
    phone = Publisher(sip, "UDP", user, SIP_PASSWORD)
    try:
        assert phone.publish(away(user), expires=60).status == 200
        ws.presence_of(user, timeout=1, availability="Away")
        ws.presence_of(user, timeout=63, availability="Available")
        assert explanation(client, user)["rule"] == "logged_in"
        assert phone.publish(if_match=phone.etag).status == 412
    finally:
        phone.close()
        ws.close()


def test_an_acknowledged_publication_survives_kill_9(tmp_path):
    server = start(tmp_path / "data")
    try:
        admin = Client(server.url).login("admin", ADMIN_PASSWORD)
        admin.add_user("alice", sip_password=SIP_PASSWORD)
        phone = Publisher(server, "TCP", "alice", SIP_PASSWORD)
        assert phone.publish(away("alice", "kept"), expires=3600).status == 200
        etag = phone.etag
        phone.close()
        server.kill()
        server.start()
        server.sip_port = int(next(re.search(r"listening on sip:127\.0\.0\.1:(\d+)", line)
                                   for line in server.log if "listening on sip:" in line)
                              .group(1))
        admin = Client(server.url).login("admin", ADMIN_PASSWORD)
        alice = bearer(admin, "alice")
        now = presence(alice, "alice")
        assert (now["availability"], now["note"]) == ("Away", "kept"), now
        assert explanation(alice, "alice")["layer"] == "sip"
        # the tag given before the crash still refreshes
        phone = Publisher(server, "UDP", "alice", SIP_PASSWORD)
        assert phone.publish(if_match=etag, expires=600).status == 200
        phone.close()
    finally:
        server.kill()


@pytest.mark.parametrize("sipp_transport", ["u1", "t1"])
def test_sipp_publish_without_credentials_is_challenged_and_changes_nothing(sip, admin, tmp_path,
                                                                            sipp_transport):
    if SIPP is None:
        pytest.skip("sipp (Debian sip-tester) is not installed")
    user, client = new_sip_user(admin)
    status, trace = run_sipp(sip, tmp_path, "sip_publish_challenge", sipp_transport,
                             {"user": user})
    assert status == 0, trace
    assert responses(trace) == ["401"], trace
    assert presence(client, user)["availability"] == "Offline"
