"""Telephony events from a PBX that retries, reorders and forgets, against the real presenced:
every event is answered, none leaves a user stuck on a call, and what is ignored stays ignored
across a restart (docs/presence-rules.md, "Call events")."""

import os
import subprocess

from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, Watcher, assert_error, new_user


def event(admin, user, call_id, state, device="desk"):
    answer = admin.post("/api/v1/telephony/events",
                        {"user": user, "device": device, "call_id": call_id, "state": state,
                         "direction": "inbound"})
    assert answer.status_code == 202, answer.text
    return answer.json()


def presence(admin, user):
    return admin.get("/api/v1/users/%s/presence" % user).json()


def test_each_outcome_is_reported(shared, root):
    user, _ = new_user(root)
    assert event(root, user, "c1", "ringing")["outcome"] == "applied"
    assert event(root, user, "c1", "ringing")["outcome"] == "duplicate"
    assert event(root, user, "c1", "connected")["outcome"] == "applied"
    assert event(root, user, "c1", "ringing")["outcome"] == "ignored_backwards"
    assert presence(root, user)["activity"] == "InACall"
    assert event(root, user, "c1", "ended")["outcome"] == "applied"
    assert event(root, user, "c1", "connected")["outcome"] == "ignored_ended"
    assert event(root, user, "never-seen", "ended")["outcome"] == "ignored_unknown_end"
    assert "call" not in presence(root, user)["flags"]


def test_a_late_event_does_not_come_back_after_a_restart(server, admin):
    user, _ = new_user(admin)
    event(admin, user, "c1", "connected")
    event(admin, user, "c1", "ended")
    assert event(admin, user, "c1", "connected")["outcome"] == "ignored_ended"
    event(admin, user, "c2", "connected")
    assert event(admin, user, "c2", "ringing")["outcome"] == "ignored_backwards"
    server.restart()
    admin = Client(server.url, admin.token)
    layers = admin.get("/api/v1/users/%s/layers" % user).json()
    calls = {(c["call_id"], c["state"]) for c in layers["telephony"]}
    assert calls == {("c2", "connected")}, layers


def test_watchers_see_nothing_for_duplicates_and_late_events(server, admin):
    user, _ = new_user(admin)
    watcher = Watcher(server, admin.token)
    try:
        watcher.subscribe(user)
        watcher.presence_of(user)
        event(admin, user, "c1", "connected")
        watcher.presence_of(user, activity="InACall")
        event(admin, user, "c1", "connected")
        event(admin, user, "c1", "ringing")
        assert watcher.silent_for(0.5)
        event(admin, user, "c1", "ended")
        watcher.wait_for(lambda m: m.get("user") == user and "call" not in m["flags"])
        event(admin, user, "c1", "connected")
        assert watcher.silent_for(0.5)
    finally:
        watcher.close()


def test_unknown_user_and_bad_events_get_a_clear_error(shared, root):
    user, client = new_user(root)
    base = {"user": user, "device": "desk", "call_id": "c1", "state": "ringing",
            "direction": "inbound"}
    assert_error(root.post("/api/v1/telephony/events", dict(base, user="no-such-user")), 404)
    assert_error(root.post("/api/v1/telephony/events", dict(base, state="dialing")), 400)
    assert_error(root.post("/api/v1/telephony/events", dict(base, direction="sideways")), 400)
    assert_error(root.post("/api/v1/telephony/events", dict(base, call_id="")), 400)
    assert_error(root.post("/api/v1/telephony/events", {k: v for k, v in base.items()
                                                         if k != "device"}), 400)
    assert_error(client.post("/api/v1/telephony/events", base), 403)
    assert_error(root.post("/api/v1/routing/decide", {"callee": "no-such-user", "caller": "1"}),
                 404)


def test_dnd_call_protection_shows_dnd_during_a_connected_call_only(shared, root):
    user, client = new_user(root)
    assert client.put("/api/v1/users/%s/call-settings" % user,
                      {"dnd_protection": True}).status_code == 200
    client.put("/api/v1/users/%s/presence/manual" % user, {"state": "Available"})
    event(root, user, "p1", "ringing")
    assert presence(root, user)["availability"] != "DoNotDisturb"
    event(root, user, "p1", "connected")
    during = presence(root, user)
    assert (during["availability"], during["activity"]) == ("DoNotDisturb", "InACall"), during
    decision = root.post("/api/v1/routing/decide", {"callee": user, "caller": "1"}).json()
    assert (decision["action"], decision["reason"]) == ("voicemail", "do_not_disturb"), decision
    event(root, user, "p1", "ended")
    assert presence(root, user)["availability"] == "Available"


def test_calls_whose_end_never_comes_expire_after_the_configured_lease(tmp_path):
    server = Presenced(tmp_path / "data", extra_args=("--ringing-lease-s", "1",
                                                      "--call-lease-s", "2"))
    try:
        admin = Client(server.url).login("admin", ADMIN_PASSWORD)
        user, _ = new_user(admin)
        watcher = Watcher(server, admin.token)
        try:
            watcher.subscribe(user)
            watcher.presence_of(user)
            event(admin, user, "lost", "connected")
            watcher.presence_of(user, activity="InACall")
            # The PBX never says "ended": the lease ends the call and watchers are told.
            gone = watcher.wait_for(lambda m: m.get("user") == user and "call" not in m["flags"],
                                    timeout=5)
            assert gone["activity"] != "InACall", gone
            event(admin, user, "lost-ring", "ringing")
            watcher.wait_for(lambda m: m.get("user") == user and "ringing" in m["flags"])
            watcher.wait_for(lambda m: m.get("user") == user and "ringing" not in m["flags"],
                             timeout=4)
        finally:
            watcher.close()
    finally:
        server.kill()


def test_a_lease_out_of_range_is_refused_at_start(tmp_path):
    binary = os.environ["PRESENCED_BIN"]
    for flag in ("--call-lease-s", "--ringing-lease-s"):
        done = subprocess.run([binary, "--data-dir", str(tmp_path), flag, "0"],
                              capture_output=True, timeout=10)
        assert done.returncode == 2, (flag, done)
