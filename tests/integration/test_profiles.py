"""Presence profiles against the real presenced (docs/profiles.md): shared and personal
profiles, selecting one (state, note, end, DND, forwarding, personal routing, idle minutes), its
end restoring the state before, enforcement by an admin, and presence from events applying no
profile (seeds 000 and 003)."""

import time
from datetime import timedelta

from presenced_fixture import Client, Watcher, assert_error, from_now, new_user, parse_time


def put_profile(admin, pid, **body):
    answer = admin.put("/api/v1/profiles/" + pid, body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def select(client, user, profile, **extra):
    return client.put("/api/v1/users/%s/profile" % user, dict(extra, profile=profile))


def presence(client, user):
    return client.get("/api/v1/users/%s/presence" % user).json()


def decide(admin, user, call_type="direct"):
    answer = admin.post("/api/v1/routing/decide", {"callee": user, "caller": "+4989",
                                                   "type": call_type})
    assert answer.status_code == 200, answer.text
    return answer.json()


def add_device(admin, user, device="desk"):
    assert admin.post("/api/v1/users/%s/devices" % user, {"device": device}).status_code \
        in (200, 201)


def test_selecting_a_profile_applies_all_of_it_and_ending_restores(server, admin):
    put_profile(admin, "meeting", name="In a meeting", state="Busy", note="Board meeting",
                duration_min=60, dnd=True)
    user, client = new_user(admin)
    add_device(admin, user)
    client.put("/api/v1/users/%s/presence/manual" % user,
               {"state": "Away", "note": "at lunch"})
    answer = select(client, user, "meeting")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["profile"], body["scope"], body["enforced"]) == ("meeting", "shared", False)
    end = parse_time(body["until"])
    assert abs((end - parse_time(body["since"])) - timedelta(minutes=60)) < timedelta(seconds=1)
    p = presence(client, user)
    assert (p["availability"], p["note"]) == ("Busy", "Board meeting"), p
    assert parse_time(p["until"]) == end
    d = decide(admin, user)
    assert (d["action"], d["reason"]) == ("voicemail", "do_not_disturb"), d
    assert client.get("/api/v1/users/%s/profile" % user).json()["profile"] == "meeting"
    # Ending it brings back the state before, note included, and the call settings.
    answer = client.delete("/api/v1/users/%s/profile" % user)
    assert answer.status_code == 200 and answer.json()["profile"] is None, answer.text
    p = presence(client, user)
    assert (p["availability"], p["note"]) == ("Away", "at lunch"), p
    assert decide(admin, user)["action"] == "ring"
    assert_error(client.delete("/api/v1/users/%s/profile" % user), 404)


def test_the_end_of_its_duration_restores_without_a_moment_of_automatic_presence(server, admin):
    put_profile(admin, "short", state="DoNotDisturb", note="focus")
    user, client = new_user(admin)
    client.put("/api/v1/users/%s/presence/manual" % user, {"state": "Away", "note": "out"})
    watcher = Watcher(server, admin.token)
    try:
        watcher.subscribe(user)
        watcher.presence_of(user, availability="Away")
        assert select(client, user, "short", until=from_now(1.5)).status_code == 200
        watcher.presence_of(user, availability="DoNotDisturb")
        restored = watcher.wait_for(
            lambda m: m.get("user") == user and m["availability"] != "DoNotDisturb", timeout=5)
        assert (restored["availability"], restored.get("note")) == ("Away", "out"), restored
    finally:
        watcher.close()
    assert client.get("/api/v1/users/%s/profile" % user).json()["profile"] is None


def test_a_state_chosen_by_hand_ends_the_profile_without_restoring(server, admin):
    put_profile(admin, "fwd", state="Away", forwarding={"mode": "always",
                                                       "destination": "+4930111"})
    user, client = new_user(admin)
    add_device(admin, user)
    client.put("/api/v1/users/%s/presence/manual" % user, {"state": "BeRightBack"})
    select(client, user, "fwd")
    assert decide(admin, user)["destination"] == "+4930111"
    client.put("/api/v1/users/%s/presence/manual" % user, {"state": "Available"})
    assert client.get("/api/v1/users/%s/profile" % user).json()["profile"] is None
    assert presence(client, user)["availability"] == "Available"
    assert decide(admin, user)["action"] == "ring"


def test_a_profile_may_leave_the_forwarding_destination_to_the_selection(server, admin):
    put_profile(admin, "away-fwd", state="Away",
                forwarding={"mode": "always", "destination": ""},
                personal_routing={"staggered": [{"device": "mobile", "delay_s": 8}],
                                  "voicemail_after_s": None})
    user, client = new_user(admin)
    add_device(admin, user)
    error = assert_error(select(client, user, "away-fwd"), 400, "invalid_argument")
    assert error["message"].startswith("destination:"), error
    assert select(client, user, "away-fwd", destination="carol").status_code == 200
    d = decide(admin, user)
    assert (d["action"], d["destination"], d["reason"]) == ("forward", "carol", "forward_always")
    # Direct calls only (the default): a group call rings by the profile's personal routing.
    add_device(admin, user, "mobile")
    assert decide(admin, user, "group")["targets"] == [
        {"device": "desk", "delay_s": 0},
        {"device": "mobile", "delay_s": 8}]


def test_an_admin_can_enforce_a_profile_the_user_cannot_change(server, admin):
    put_profile(admin, "night", state="Offline", note="night shift ended")
    user, client = new_user(admin)
    assert_error(select(client, user, "night", enforced=True), 403, "permission_denied")
    answer = select(admin, user, "night", enforced=True)
    assert answer.status_code == 200 and answer.json()["enforced"] is True, answer.text
    manual = "/api/v1/users/%s/presence/manual" % user
    assert_error(client.put(manual, {"state": "Available"}), 403, "permission_denied")
    assert_error(client.delete(manual), 403, "permission_denied")
    assert_error(client.delete("/api/v1/users/%s/profile" % user), 403, "permission_denied")
    assert_error(select(client, user, "night"), 403, "permission_denied")
    # A login does not replace it either.
    assert admin.patch("/api/v1/users/" + user, {"login_state": "Available"}).status_code == 200
    assert client.post("/api/v1/users/%s/sessions" % user,
                       {"client_id": "desk-app", "ttl_s": 60}).status_code in (200, 201)
    assert presence(client, user)["note"] == "night shift ended"
    assert admin.delete("/api/v1/users/%s/profile" % user).status_code == 200
    assert client.put(manual, {"state": "Available"}).status_code == 200


def test_personal_profiles_are_their_owners_only(server, admin):
    user, client = new_user(admin)
    other, other_client = new_user(admin)
    answer = client.put("/api/v1/users/%s/profiles/focus" % user,
                        {"state": "DoNotDisturb", "note": "deep work", "duration_min": 90})
    assert answer.status_code == 201, answer.text
    assert answer.json()["scope"] == "personal"
    assert_error(other_client.put("/api/v1/users/%s/profiles/x" % user, {"state": "Busy"}), 403)
    assert_error(other_client.get("/api/v1/users/%s/profiles" % user), 403)
    assert_error(select(other_client, other, "focus"), 404, "not_found")
    listed = client.get("/api/v1/users/%s/profiles" % user).json()["profiles"]
    assert [(p["id"], p["scope"]) for p in listed] == [("focus", "personal")]
    assert select(client, user, "focus").json()["scope"] == "personal"
    assert presence(client, user)["note"] == "deep work"
    assert client.delete("/api/v1/users/%s/profiles/focus" % user).status_code == 204
    # The selection keeps its copy until it ends.
    assert client.get("/api/v1/users/%s/profile" % user).json()["settings"]["note"] == "deep work"
    error = assert_error(client.put("/api/v1/users/%s/profiles/team" % user,
                                    {"state": "Busy", "users": [other]}), 400)
    assert error["message"].startswith("users:"), error


def test_shared_profiles_only_for_whom_the_admin_allows(server, admin):
    assert admin.put("/api/v1/groups/sales", {"display_name": "Sales"}).status_code in (200, 201)
    seller, seller_client = new_user(admin, groups=["sales"])
    named, named_client = new_user(admin)
    outsider, outsider_client = new_user(admin)
    put_profile(admin, "visit", state="Away", note="at a customer", users=[named],
                groups=["sales"])
    for client in (seller_client, named_client):
        assert [p["id"] for p in client.get("/api/v1/profiles").json()["profiles"]] == ["visit"]
    assert outsider_client.get("/api/v1/profiles").json()["profiles"] == []
    assert select(seller_client, seller, "visit").status_code == 200
    assert select(named_client, named, "visit").status_code == 200
    assert_error(select(outsider_client, outsider, "visit"), 404)
    assert_error(outsider_client.put("/api/v1/profiles/mine", {"state": "Busy"}), 403)


def test_presence_from_a_call_applies_no_profile(server, admin):
    # Seed 000: a profile for Busy with forwarding; a call makes the user Busy by itself.
    put_profile(admin, "busy-fwd", state="Busy",
                forwarding={"mode": "always", "destination": "+4930222"})
    user, client = new_user(admin)
    add_device(admin, user, "desk")
    add_device(admin, user, "mobile")
    admin.post("/api/v1/telephony/events", {"user": user, "device": "desk", "call_id": "c",
                                            "state": "connected", "direction": "inbound"})
    assert presence(admin, user)["availability"] == "Busy"
    assert client.get("/api/v1/users/%s/profile" % user).json()["profile"] is None
    d = decide(admin, user)
    assert d["action"] == "ring" and "destination" not in d, d


def test_profile_idle_minutes_apply_while_it_is_selected(server, admin):
    put_profile(admin, "quick-idle", state="Available", idle_minutes=1)
    user, client = new_user(admin)
    client.post("/api/v1/users/%s/sessions" % user, {"client_id": "pc", "ttl_s": 60})
    two_minutes_ago = from_now(-120)
    client.post("/api/v1/users/%s/input" % user,
                {"client_id": "pc", "state": "idle", "since": two_minutes_ago})
    assert "idle" not in presence(client, user)["flags"]  # the user's own 5 minutes
    select(client, user, "quick-idle")
    assert "idle" in presence(client, user)["flags"]
    client.delete("/api/v1/users/%s/profile" % user)
    assert "idle" not in presence(client, user)["flags"]


def test_bad_profiles_and_selections_get_clear_errors(server, admin):
    user, client = new_user(admin)
    cases = [
        ({"state": "Sleeping"}, "state:"),
        ({"note": "no state"}, "state:"),
        ({"state": "Busy", "duration_min": 0}, "duration_min:"),
        ({"state": "Busy", "idle_minutes": 100000}, "idle_minutes:"),
        ({"state": "Busy", "users": ["no-such-user"]}, "users:"),
        ({"state": "Busy", "groups": ["no-such-group"]}, "groups:"),
        ({"state": "Busy", "forwarding": {"mode": "later"}}, "forwarding.mode:"),
        ({"state": "Busy", "dnd": "yes"}, "dnd:"),
    ]
    for body, field in cases:
        error = assert_error(admin.put("/api/v1/profiles/p1", body), 400, "invalid_argument")
        assert error["message"].startswith(field), (body, error)
    assert_error(admin.put("/api/v1/profiles/bad%20id", {"state": "Busy"}), 400)
    assert_error(admin.get("/api/v1/profiles/p1"), 405)
    assert_error(admin.delete("/api/v1/profiles/p1"), 404)
    put_profile(admin, "p1", state="Busy")
    assert_error(select(client, user, "nope"), 404)
    assert_error(select(client, user, "p1", until=from_now(-5)), 400)
    assert_error(client.put("/api/v1/users/%s/profile" % user, {}), 400)
    assert_error(select(admin, "no-such-user", "p1"), 404)
    # A profile whose state the admin deleted cannot be selected.
    assert admin.put("/api/v1/states/gone", {"type": "away"}).status_code in (200, 201)
    put_profile(admin, "p2", state="gone")
    assert admin.delete("/api/v1/states/gone").status_code == 204
    assert_error(select(client, user, "p2"), 412, "failed_precondition")


def test_a_selected_profile_survives_a_restart_and_still_ends_on_time(server, admin):
    put_profile(admin, "brief", state="Busy", note="brief")
    user, client = new_user(admin)
    client.put("/api/v1/users/%s/presence/manual" % user, {"state": "Away", "note": "before"})
    select(admin, user, "brief", until=from_now(3), enforced=True)
    server.restart()
    client = Client(server.url, client.token)
    body = client.get("/api/v1/users/%s/profile" % user).json()
    assert (body["profile"], body["enforced"]) == ("brief", True), body
    assert_error(client.put("/api/v1/users/%s/presence/manual" % user, {"state": "Available"}),
                 403)
    deadline = time.time() + 6
    while time.time() < deadline and presence(client, user).get("note") != "before":
        time.sleep(0.1)
    assert presence(client, user)["note"] == "before"
    server.restart()
    client = Client(server.url, client.token)
    assert client.get("/api/v1/users/%s/profile" % user).json()["profile"] is None
    assert presence(client, user)["note"] == "before"
