"""The phone system's settings API against the real presenced: users' call settings, queues and
the automatic action per state type, and the routing decisions they produce (docs/routing.md).
"""

import pytest

from presenced_fixture import Client, assert_error, new_user

DEFAULTS = {
    "voicemail": True, "dnd": False, "busy_on_busy": False, "call_waiting": True,
    "accept_group_calls": True, "dnd_protection": False,
    "forwarding": {"mode": "off", "destination": "", "on_no_answer": True, "no_answer_s": 20,
                   "on_busy": True, "on_unreachable": True, "direct_calls_only": True,
                   "show_original_caller": True},
    "personal_routing": {"staggered": [], "voicemail_after_s": None},
    "find_me": [],
}


def settings_path(user):
    return "/api/v1/users/%s/call-settings" % user


def with_devices(admin, *devices, **fields):
    """A new user with these devices who set themselves Available; returns (id, client)."""
    user, client = new_user(admin, prefix="callee", **fields)
    for device in devices:
        answer = admin.post("/api/v1/users/%s/devices" % user, {"device": device})
        assert answer.status_code in (200, 201), answer.text
    set_manual(client, user, "Available")
    return user, client


def decide(admin, callee, call_type="direct", caller="+4989000"):
    answer = admin.post("/api/v1/routing/decide",
                        {"callee": callee, "caller": caller, "type": call_type})
    assert answer.status_code == 200, answer.text
    return answer.json()


def call_event(admin, user, device, call_id, state):
    answer = admin.post("/api/v1/telephony/events",
                        {"user": user, "device": device, "call_id": call_id, "state": state,
                         "direction": "inbound"})
    assert answer.status_code == 202, answer.text


def set_manual(client, user, state):
    answer = client.put("/api/v1/users/%s/presence/manual" % user, {"state": state})
    assert answer.status_code == 200, answer.text


# ---- Call settings ----

def test_a_user_who_set_nothing_has_the_defaults(shared, root):
    user, client = new_user(root)
    answer = client.get(settings_path(user))
    assert answer.status_code == 200, answer.text
    assert answer.json() == DEFAULTS


def test_put_replaces_the_whole_document_and_get_returns_it(shared, root):
    user, client = new_user(root)
    document = {
        "voicemail": False, "dnd": False, "busy_on_busy": True, "call_waiting": False,
        "accept_group_calls": False, "dnd_protection": True,
        "forwarding": {"mode": "failover", "destination": "+4917012345", "on_no_answer": True,
                       "no_answer_s": 7, "on_busy": False, "on_unreachable": True,
                       "direct_calls_only": False, "show_original_caller": False},
        "personal_routing": {"staggered": [{"device": "desk", "delay_s": 0},
                                           {"device": "mobile", "delay_s": 12}],
                             "voicemail_after_s": 40},
        "find_me": [{"destination": "+4930999", "delay_s": 20}],
    }
    answer = client.put(settings_path(user), document)
    assert answer.status_code == 200, answer.text
    assert answer.json() == document
    assert client.get(settings_path(user)).json() == document
    # What GET gives can be PUT back as it is, the defaults included.
    assert client.put(settings_path(user), DEFAULTS).json() == DEFAULTS
    # Absent fields go back to their defaults: PUT is not PATCH.
    assert client.put(settings_path(user), {"busy_on_busy": True}).status_code == 200
    assert client.get(settings_path(user)).json() == dict(DEFAULTS, busy_on_busy=True)


def test_only_the_user_an_admin_or_the_phone_system_see_call_settings(shared, root):
    owner, _ = new_user(root)
    _, other = new_user(root)
    _, pbx = new_user(root, role="system")
    assert_error(other.get(settings_path(owner)), 403, "permission_denied")
    assert_error(other.put(settings_path(owner), {}), 403, "permission_denied")
    assert pbx.get(settings_path(owner)).status_code == 200
    assert_error(pbx.put(settings_path(owner), {}), 403, "permission_denied")
    assert root.put(settings_path(owner), {"dnd": True}).status_code == 200
    assert_error(root.get(settings_path("nobody-here")), 404, "not_found")


@pytest.mark.parametrize("body, field", [
    ({"forwarding": {"mode": "always"}}, "forwarding.destination"),
    ({"forwarding": {"mode": "sometimes", "destination": "x"}}, "forwarding.mode"),
    ({"forwarding": {"mode": "failover", "destination": "x", "no_answer_s": 0}},
     "forwarding.no_answer_s"),
    ({"forwarding": "always"}, "forwarding"),
    ({"personal_routing": {"staggered": [{"device": "desk", "delay_s": -1}]}},
     "personal_routing.staggered[0].delay_s"),
    ({"personal_routing": {"staggered": [{"device": "desk"}, {"device": "desk"}]}},
     "personal_routing.staggered[1].device"),
    ({"personal_routing": {"staggered": [{"delay_s": 3}]}}, "personal_routing.staggered[0].device"),
    ({"personal_routing": {"voicemail_after_s": 100000}}, "personal_routing.voicemail_after_s"),
    ({"find_me": [{"destination": "+49", "delay_s": "soon"}]}, "find_me[0].delay_s"),
    ({"find_me": [{"destination": "+49"}] * 33}, "find_me"),
    ({"busy_on_busy": "yes"}, "busy_on_busy"),
])
def test_bad_call_settings_get_400_naming_the_field(shared, root, body, field):
    user, client = new_user(root)
    error = assert_error(client.put(settings_path(user), body), 400, "invalid_argument")
    assert error["message"].startswith(field + ":"), error
    assert client.get(settings_path(user)).json() == DEFAULTS  # nothing half-applied


# ---- Decisions from call settings ----

def test_staggered_personal_routing_names_user_device_and_delay(shared, root):
    user, client = with_devices(root, "desk", "mobile")
    client.put(settings_path(user), {"personal_routing": {
        "staggered": [{"device": "mobile", "delay_s": 5}], "voicemail_after_s": 30}})
    d = decide(root, user)
    assert d["action"] == "ring" and d["reason"] == "available", d
    assert d["targets"] == [{"device": "desk", "delay_s": 0},
                            {"device": "mobile", "delay_s": 5}], d
    assert d["no_answer"] == {"after_s": 30, "action": "voicemail",
                              "reason": "voicemail_no_answer"}, d


def test_busy_on_busy_once_a_call_is_connected_not_while_it_rings(shared, root):
    user, client = with_devices(root, "desk", "mobile")
    client.put(settings_path(user), {"busy_on_busy": True})
    call_event(root, user, "desk", "first", "ringing")
    assert decide(root, user)["action"] == "ring"
    call_event(root, user, "desk", "first", "connected")
    d = decide(root, user)
    assert (d["action"], d["reason"]) == ("busy", "busy_on_busy"), d
    # Queue and group calls are not refused by the direct line's protection.
    assert decide(root, user, "group")["action"] == "ring"
    call_event(root, user, "desk", "first", "ended")
    assert decide(root, user)["action"] == "ring"


def test_forwarding_always_and_on_no_answer(shared, root):
    user, client = with_devices(root, "desk")
    client.put(settings_path(user), {"forwarding": {"mode": "always", "destination": "+4930111",
                                                    "show_original_caller": False}})
    d = decide(root, user)
    assert (d["action"], d["destination"], d["reason"], d["caller_id"]) == \
        ("forward", "+4930111", "forward_always", "callee"), d
    client.put(settings_path(user), {"forwarding": {"mode": "failover", "destination": "bob",
                                                    "no_answer_s": 3}})
    d = decide(root, user)
    assert d["action"] == "ring", d
    assert d["no_answer"] == {"after_s": 3, "action": "forward", "destination": "bob",
                              "reason": "forward_no_answer"}, d
    assert d["caller_id"] == "caller", d


def test_dnd_in_call_settings_sends_to_voicemail_or_busy(shared, root):
    user, client = with_devices(root, "desk")
    client.put(settings_path(user), {"dnd": True})
    assert (decide(root, user)["action"], decide(root, user)["reason"]) == \
        ("voicemail", "do_not_disturb")
    client.put(settings_path(user), {"dnd": True, "voicemail": False})
    assert decide(root, user)["action"] == "busy"


def test_a_user_who_refuses_group_calls_is_skipped_for_them_only(shared, root):
    user, client = with_devices(root, "desk")
    client.put(settings_path(user), {"accept_group_calls": False})
    d = decide(root, user, "group")
    assert (d["action"], d["reason"]) == ("busy", "group_call_refused"), d
    assert decide(root, user, "direct")["action"] == "ring"


# ---- Automatic actions per state type (seed 002) ----

def test_state_actions_default_to_none_and_only_admins_change_them(shared, root):
    _, user = new_user(root)
    answer = user.get("/api/v1/routing/state-actions")
    assert answer.status_code == 200, answer.text
    assert set(answer.json().values()) <= {"none", "dnd", "find_me"}
    assert set(answer.json()) == {"available", "chat", "away", "dnd", "xa", "unavailable"}
    assert_error(user.put("/api/v1/routing/state-actions", {"away": "dnd"}), 403,
                 "permission_denied")
    error = assert_error(root.put("/api/v1/routing/state-actions", {"away": "ignore"}), 400)
    assert error["message"].startswith("away:"), error


def test_a_state_types_action_applies_while_the_user_is_in_such_a_state(server, admin):
    user, client = with_devices(admin, "desk")
    client.put(settings_path(user), {"find_me": [{"destination": "+4917099", "delay_s": 15}]})
    answer = admin.put("/api/v1/routing/state-actions", {"away": "dnd", "xa": "find_me"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["away"] == "dnd" and answer.json()["chat"] == "none"
    assert decide(admin, user)["action"] == "ring"
    set_manual(client, user, "Away")  # a built-in state of type away
    d = decide(admin, user)
    assert (d["action"], d["reason"]) == ("voicemail", "do_not_disturb"), d
    # An admin-defined state of type xa: find me/follow me rings the numbers after the devices.
    assert admin.put("/api/v1/states/travel", {"type": "xa", "message": "Travelling"}) \
        .status_code in (200, 201)
    set_manual(client, user, "travel")
    d = decide(admin, user)
    assert d["action"] == "ring", d
    assert d["targets"] == [{"device": "desk", "delay_s": 0},
                            {"number": "+4917099", "delay_s": 15}], d
    # Back to automatic presence: no state, no action.
    client.delete("/api/v1/users/%s/presence/manual" % user)
    assert decide(admin, user)["targets"] == [{"device": "desk", "delay_s": 0}]


# ---- Queues (seed 004) ----

def queue_decision(admin, queue):
    return decide(admin, queue, "queue")


def test_queue_rings_only_members_whose_presence_it_admits(server, admin):
    bob, bob_client = with_devices(admin, "desk")
    carol, carol_client = with_devices(admin, "desk")
    dave, dave_client = with_devices(admin, "desk", "mobile")
    set_manual(carol_client, carol, "DoNotDisturb")
    answer = admin.put("/api/v1/queues/support", {"members": [bob, carol, dave]})
    assert answer.status_code == 201, answer.text
    assert answer.json()["strategy"] == "ring_all"
    assert answer.json()["availabilities"] == ["Available"]
    d = queue_decision(admin, "support")
    assert (d["action"], d["reason"], d["agents"]) == ("ring", "queue", [bob, dave]), d
    assert d["targets"] == [{"device": "desk", "delay_s": 0, "user": bob},
                            {"device": "desk", "delay_s": 0, "user": dave},
                            {"device": "mobile", "delay_s": 0, "user": dave}], d
    # On a call: skipped unless the queue admits InACall.
    call_event(admin, dave, "desk", "q1", "connected")
    assert queue_decision(admin, "support")["agents"] == [bob]
    set_manual(bob_client, bob, "Away")
    d = queue_decision(admin, "support")
    assert (d["action"], d["agents"], d["targets"], d["reason"]) == \
        ("busy", [], [], "queue_no_agent"), d
    # Busy agents on a call may be admitted (seed 004's option).
    admin.put("/api/v1/queues/support", {"members": [bob, carol, dave],
                                         "availabilities": ["Available", "Busy"],
                                         "activities": ["InACall"]})
    assert queue_decision(admin, "support")["agents"] == [dave]


def test_round_robin_starts_one_agent_further_each_call(server, admin):
    agents = [with_devices(admin, "desk") for _ in range(3)]
    ids = [user for user, _ in agents]
    admin.put("/api/v1/queues/sales", {"members": ids, "strategy": "round_robin",
                                       "agent_ring_s": 10})
    first = queue_decision(admin, "sales")
    second = queue_decision(admin, "sales")
    assert first["agents"] == ids and second["agents"] == ids[1:] + ids[:1], (first, second)
    # Hunting: agent after agent, agent_ring_s apart.
    assert [t["delay_s"] for t in first["targets"]] == [0, 10, 20], first


def test_queue_admin_routes_and_bad_input(shared, root):
    member, member_client = new_user(root)
    assert_error(member_client.put("/api/v1/queues/q1", {"members": [member]}), 403)
    assert_error(member_client.get("/api/v1/queues"), 403)
    assert_error(root.put("/api/v1/queues/q1", {"members": ["no-such-user"]}), 400)
    assert_error(root.put("/api/v1/queues/q1", {"members": [member, member]}), 400)
    assert_error(root.put("/api/v1/queues/q1", {"members": [member], "strategy": "random"}), 400)
    assert_error(root.put("/api/v1/queues/q1", {"members": [member],
                                                "availabilities": ["Sleeping"]}), 400)
    assert_error(root.put("/api/v1/queues/q1", {}), 400)
    assert_error(root.put("/api/v1/queues/bad%20id", {"members": [member]}), 400)
    assert root.put("/api/v1/queues/q1", {"members": [member]}).status_code == 201
    assert root.put("/api/v1/queues/q1", {"members": [member]}).status_code == 200
    assert [q["id"] for q in root.get("/api/v1/queues").json()["queues"]] == ["q1"]
    assert root.get("/api/v1/queues/q1").json()["members"] == [member]
    assert root.delete("/api/v1/queues/q1").status_code == 204
    assert_error(root.get("/api/v1/queues/q1"), 404)
    assert_error(root.delete("/api/v1/queues/q1"), 404)
    assert_error(root.post("/api/v1/routing/decide",
                           {"callee": "q1", "caller": "1", "type": "queue"}), 404, "not_found")


def test_routing_settings_survive_a_restart(server, admin):
    user, client = with_devices(admin, "desk")
    settings = {"busy_on_busy": True, "dnd_protection": True,
                "personal_routing": {"staggered": [{"device": "desk", "delay_s": 4}],
                                     "voicemail_after_s": None}}
    assert client.put(settings_path(user), settings).status_code == 200
    admin.put("/api/v1/queues/hotline", {"members": [user], "strategy": "longest_idle"})
    admin.put("/api/v1/routing/state-actions", {"chat": "find_me"})
    before = client.get(settings_path(user)).json()
    server.restart()
    admin = Client(server.url, admin.token)
    assert Client(server.url, client.token).get(settings_path(user)).json() == before
    assert admin.get("/api/v1/queues/hotline").json()["strategy"] == "longest_idle"
    assert admin.get("/api/v1/routing/state-actions").json()["chat"] == "find_me"
    assert decide(admin, user)["targets"] == [{"device": "desk", "delay_s": 4}]
