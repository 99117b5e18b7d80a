"""presenced against the Graph emulator (tools/graph-emulator): every row of the ProCall <-> Teams
table in both directions (seed 001, presence-reference §2.6), loop suppression, recovery from
429, subscription renewal and forged notifications (docs/teams.md)."""

import json
import time

import pytest
import requests

from graph_emulator_process import CLIENT_ID, CLIENT_SECRET, TENANT, GraphEmulator
from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, new_user, poll

CLIENT_STATE = "test-client-state-0123456789"
NOTIFICATIONS = "/api/v1/teams/notifications"


@pytest.fixture(scope="module")
def graph():
    # Application sessions last PT5M x 0.01 = 3 s, subscriptions at most 4 s: refresh and
    # renewal happen many times within a test.
    emulator = GraphEmulator("--duration-scale", "0.01", "--max-subscription-lifetime", "4",
                             "--inactive-after", "3600", "--away-after", "3600")
    yield emulator
    emulator.stop()


def teams_config(graph, tmp_path, **overrides):
    config = {"tenants": [{"name": TENANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                           "graph_url": graph.url + "/v1.0", "token_url": graph.token_url}],
              "client_state": CLIENT_STATE, "subscription_lifetime_s": 3, "renew_before_s": 1,
              "session_expiration_s": 300, "session_refresh_s": 1, "poll_interval_s": 3600}
    config.update(overrides)
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.fixture(scope="module")
def server(graph, tmp_path_factory):
    data = tmp_path_factory.mktemp("teams")
    presenced = Presenced(data / "data", ["--teams-config", teams_config(graph, data)])
    yield presenced
    presenced.kill()


@pytest.fixture(scope="module")
def root(server):
    return Client(server.url).login("admin", ADMIN_PASSWORD)


def presence(root, user):
    """The presence with its explanation (the layers view)."""
    return root.get(f"/api/v1/users/{user}/layers").json()["presence"]


def subscribed(graph, graph_id):
    return any(graph_id in s["ids"] for s in graph.control("GET", "subscriptions")["value"])


def mapped_user(root, graph, mirror_dnd=False):
    """A signed-in presenced user mapped to a fresh Teams user, once Graph notifies about them."""
    user, client = new_user(root)
    graph_id = graph.add_user(f"{user}@contoso.com")
    graph.teams_client(graph_id, "Available", "Available")
    answer = root.put(f"/api/v1/users/{user}/teams",
                      {"upn": f"{user}@contoso.com", "tenant": TENANT, "mirror_dnd": mirror_dnd})
    assert answer.status_code == 200, answer.text
    client.post(f"/api/v1/users/{user}/sessions", {"client_id": "desktop", "ttl_s": 600})
    assert poll(lambda: subscribed(graph, graph_id), bool, timeout=10)
    wait_teams(root, user, "Available", "Available")
    return user, graph_id


def wait_teams(root, user, availability, activity, timeout=5):
    """Waits until presenced shows this Teams presence beside its own."""
    want = {"availability": availability, "activity": activity}
    value = poll(lambda: presence(root, user),
                 lambda p: p.get("external", {}).get("teams") == want, timeout=timeout)
    assert value.get("external", {}).get("teams") == want, value
    return value


def metric(server, root, name):
    text = root.get("/metrics").text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


# Seed 001, "Which presence states are transferred?": (how Teams shows it, who sets it there,
# what our presence becomes; None: no change).
TEAMS_ROWS = [
    ("Available", "Available", "preferred", None),
    ("Busy", "Busy", "preferred", None),
    ("DoNotDisturb", "DoNotDisturb", "preferred", ("DoNotDisturb", "DoNotDisturb")),
    ("BeRightBack", "BeRightBack", "preferred", None),
    ("Away", "Away", "preferred", None),
    ("Offline", "OffWork", "preferred", None),
    ("Busy", "InACall", "client", ("Busy", "InACall")),
    ("Busy", "InAConferenceCall", "client", ("Busy", "InACall")),
    ("DoNotDisturb", "Presenting", "client", ("DoNotDisturb", "Presenting")),
    ("Busy", "InAMeeting", "client", None),  # comes through the calendar, not Teams
]


@pytest.mark.parametrize("availability,activity,by,ours", TEAMS_ROWS)
def test_teams_to_presenced_maps_exactly_the_table(graph, root, availability, activity, by, ours):
    user, graph_id = mapped_user(root, graph)
    if by == "preferred":
        graph.teams_preferred(graph_id, availability, activity)
    else:
        graph.teams_client(graph_id, availability, activity)
    shown = wait_teams(root, user, availability, activity)
    expected = ours or ("Available", "Available")
    assert (shown["availability"], shown["activity"]) == expected, shown
    if ours:
        assert shown["explanation"]["layer"] == "teams"
    # Back to Available in Teams: our presence follows back.
    graph.control("DELETE", f"users/{graph_id}/preferred")
    graph.teams_client(graph_id, "Available", "Available")
    back = wait_teams(root, user, "Available", "Available")
    assert (back["availability"], back["activity"]) == ("Available", "Available")


def call_event(root, user, state, call_id="c1"):
    answer = root.post("/api/v1/telephony/events", {"user": user, "device": "desk",
                                                   "call_id": call_id, "state": state,
                                                   "direction": "inbound"})
    assert answer.status_code == 202, answer.text


def app_session(graph, graph_id):
    return graph.user(graph_id)["sessions"].get(CLIENT_ID)


def test_our_call_is_busy_in_a_call_in_teams_refreshed_and_cleared(graph, root):
    user, graph_id = mapped_user(root, graph)
    call_event(root, user, "ringing")
    time.sleep(0.5)
    assert app_session(graph, graph_id) is None  # ringing is no call yet
    call_event(root, user, "connected")
    session = poll(lambda: app_session(graph, graph_id), bool, timeout=5)
    assert (session["availability"], session["activity"]) == ("Busy", "InACall")
    # Loop suppression: Teams now shows our call; that is not a Teams call coming back.
    shown = wait_teams(root, user, "Busy", "InACall")
    assert shown["explanation"]["layer"] == "telephony"
    # The session lasts 3 s here: refreshed, it outlives several of them.
    time.sleep(4)
    assert app_session(graph, graph_id) is not None
    call_event(root, user, "ended")
    assert poll(lambda: app_session(graph, graph_id), lambda s: s is None, timeout=5) is None
    back = wait_teams(root, user, "Available", "Available")
    assert back["availability"] == "Available", back
    time.sleep(1)
    assert presence(root, user)["availability"] == "Available"


def test_manual_changes_stay_here_unless_dnd_is_mirrored(graph, root):
    user, graph_id = mapped_user(root, graph)
    for state in ("Busy", "DoNotDisturb", "Away", "BeRightBack"):
        assert root.put(f"/api/v1/users/{user}/presence/manual", {"state": state}).status_code == 200
    time.sleep(1)
    assert graph.user(graph_id)["preferred"] is None
    assert app_session(graph, graph_id) is None

    mirrored, mirrored_id = mapped_user(root, graph, mirror_dnd=True)
    root.put(f"/api/v1/users/{mirrored}/presence/manual", {"state": "Busy"})
    time.sleep(1)
    assert graph.user(mirrored_id)["preferred"] is None  # only DND is mirrored
    root.put(f"/api/v1/users/{mirrored}/presence/manual", {"state": "DoNotDisturb"})
    preferred = poll(lambda: graph.user(mirrored_id)["preferred"], bool, timeout=5)
    assert (preferred["availability"], preferred["by"]) == ("DoNotDisturb", "application")
    # Teams shows our DND: ours stays the user's own, not a DND from Teams.
    shown = wait_teams(root, mirrored, "DoNotDisturb", "DoNotDisturb")
    assert shown["explanation"]["layer"] == "manual"
    root.delete(f"/api/v1/users/{mirrored}/presence/manual")
    assert poll(lambda: graph.user(mirrored_id)["preferred"], lambda p: p is None,
                timeout=5) is None
    wait_teams(root, mirrored, "Available", "Available")


def test_dnd_from_teams_never_goes_back_to_teams(graph, root):
    user, graph_id = mapped_user(root, graph, mirror_dnd=True)
    graph.teams_preferred(graph_id, "DoNotDisturb", "DoNotDisturb")
    shown = wait_teams(root, user, "DoNotDisturb", "DoNotDisturb")
    assert shown["explanation"]["rule"] == "teams_dnd"
    time.sleep(1)
    assert graph.user(graph_id)["preferred"]["by"] == "user"
    assert graph.stats()["set_preferred"] == graph.stats()["set_preferred"]
    # And a Teams call does not come back as our session.
    graph.control("DELETE", f"users/{graph_id}/preferred")
    graph.teams_client(graph_id, "Busy", "InACall")
    wait_teams(root, user, "Busy", "InACall")
    time.sleep(1)
    assert app_session(graph, graph_id) is None


def test_throttled_requests_are_retried_after_retry_after(server, graph, root):
    user, graph_id = mapped_user(root, graph)
    before = metric(server, root, 'presenced_teams_graph_requests_total{status="429"}')
    graph.control("POST", "throttle", {"requests": 3, "retry_after": 1})
    graph.teams_client(graph_id, "Busy", "InACall")
    shown = wait_teams(root, user, "Busy", "InACall", timeout=10)
    assert shown["activity"] == "InACall"
    assert metric(server, root, 'presenced_teams_graph_requests_total{status="429"}') > before


def test_subscriptions_are_renewed_before_their_end(graph, root):
    user, graph_id = mapped_user(root, graph)
    renewed = graph.stats()["subscriptions_renewed"]
    time.sleep(5)  # past the 4 s the emulator allows a subscription
    assert graph.stats()["subscriptions_renewed"] >= renewed + 2
    assert subscribed(graph, graph_id)
    # Still notified (the poll interval is an hour): the change arrives.
    graph.teams_client(graph_id, "DoNotDisturb", "Presenting")
    wait_teams(root, user, "DoNotDisturb", "Presenting", timeout=3)


def test_forged_and_malformed_notifications_are_refused_and_counted(server, graph, root):
    user, graph_id = mapped_user(root, graph)
    url = server.url + NOTIFICATIONS
    forged_before = metric(server, root, 'presenced_teams_notifications_total{result="forged"}')
    forged = {"value": [{"subscriptionId": "x", "clientState": "wrong", "changeType": "updated",
                         "resource": f"communications/presences/{graph_id}"}]}
    graph.teams_client(graph_id, "Busy", "InACall")  # not notified: read only if accepted
    subscriptions = graph.control("GET", "subscriptions")["value"]
    assert requests.post(url, json=forged, timeout=5).status_code == 403
    assert metric(server, root, 'presenced_teams_notifications_total{result="forged"}') == \
        forged_before + 1
    for body in (b"{", b"[]", b'{"value": []}', b'{"value": [{"resource": "communications/presences/a b"}]}',
                 json.dumps({"value": [{}] * 2000}).encode()):
        assert requests.post(url, data=body, timeout=5).status_code == 400
    assert requests.post(url + "?validationToken=" + "a" * 2000, timeout=5).status_code == 400
    echo = requests.post(url + "?validationToken=abc%20def", timeout=5)
    assert (echo.status_code, echo.text) == (200, "abc def")
    assert echo.headers["Content-Type"].startswith("text/plain")
    assert subscriptions  # the server is still there and serving
    assert presence(root, user)["availability"] in ("Available", "Busy")


def test_mapping_api_checks_input(root):
    user, _ = new_user(root)
    for body in ({"upn": "no-at-sign", "tenant": TENANT}, {"upn": "a@b"},
                 {"upn": "a@b", "tenant": TENANT, "mirror_dnd": "yes"},
                 {"upn": "a'@b", "tenant": TENANT}, {"upn": "a@b", "tenant": TENANT, "x": 1}):
        assert root.put(f"/api/v1/users/{user}/teams", body).status_code == 400, body
    assert root.put("/api/v1/users/nobody/teams", {"upn": "a@b", "tenant": TENANT}).status_code \
        == 404
    assert root.put(f"/api/v1/users/{user}/teams", {"upn": "a@b", "tenant": TENANT}).json() == \
        {"upn": "a@b", "tenant": TENANT, "mirror_dnd": False, "user": user}
    listed = root.get("/api/v1/teams/users").json()["users"]
    assert any(m["user"] == user for m in listed)
    assert root.delete(f"/api/v1/users/{user}/teams").status_code == 204
    assert root.get(f"/api/v1/users/{user}/teams").status_code == 404


def test_mappings_survive_a_restart(graph, tmp_path):
    presenced = Presenced(tmp_path / "data", ["--teams-config", teams_config(graph, tmp_path)])
    try:
        admin = Client(presenced.url).login("admin", ADMIN_PASSWORD)
        user, _ = new_user(admin)
        graph_id = graph.add_user(f"{user}@contoso.com")
        graph.teams_client(graph_id, "Busy", "InAConferenceCall")
        admin.put(f"/api/v1/users/{user}/teams", {"upn": f"{user}@contoso.com", "tenant": TENANT})
        presenced.restart()
        admin = Client(presenced.url).login("admin", ADMIN_PASSWORD)
        # Read again at start (the teams layer is not kept): the batched read brings it back.
        wait_teams(admin, user, "Busy", "InAConferenceCall", timeout=10)
    finally:
        presenced.kill()


def test_a_bad_teams_config_exits_with_2(tmp_path):
    path = tmp_path / "teams.json"
    path.write_text('{"tenants": []}')
    with pytest.raises(RuntimeError):
        Presenced(tmp_path / "data", ["--teams-config", str(path)])


def test_revoked_tokens_and_graph_errors_are_recovered_from(server, graph, root):
    user, graph_id = mapped_user(root, graph)
    tokens = graph.stats().get("tokens", 0)
    graph.control("DELETE", "tokens")  # every token now answers 401, as after a key rollover
    graph.teams_client(graph_id, "Busy", "InACall")
    wait_teams(root, user, "Busy", "InACall")
    assert graph.stats()["tokens"] > tokens
    errors = metric(server, root, 'presenced_teams_graph_requests_total{status="5xx"}')
    graph.control("POST", "fail", {"statuses": [500, 503, 502]})
    graph.teams_client(graph_id, "DoNotDisturb", "Presenting")
    wait_teams(root, user, "DoNotDisturb", "Presenting", timeout=15)
    assert metric(server, root, 'presenced_teams_graph_requests_total{status="5xx"}') >= errors + 3


def test_unmapping_clears_what_we_set_in_teams(graph, root):
    user, graph_id = mapped_user(root, graph)
    call_event(root, user, "connected", call_id="c9")
    assert poll(lambda: app_session(graph, graph_id), bool, timeout=5)
    assert root.delete(f"/api/v1/users/{user}/teams").status_code == 204
    assert poll(lambda: app_session(graph, graph_id), lambda s: s is None, timeout=5) is None
    assert "external" not in presence(root, user)


def test_duplicated_late_and_unknown_notifications_leave_the_current_state(server, graph, root):
    user, graph_id = mapped_user(root, graph)
    graph.teams_client(graph_id, "Busy", "InACall")
    wait_teams(root, user, "Busy", "InACall")
    graph.teams_client(graph_id, "Available", "Available")
    wait_teams(root, user, "Available", "Available")
    # The notification of the call again, twice and late, and one for a user we do not know:
    # each is only a reason to read, so the state stays the current one.
    url = server.url + NOTIFICATIONS
    late = {"value": [{"subscriptionId": "s", "clientState": CLIENT_STATE,
                       "changeType": "updated",
                       "resource": f"communications/presences/{i}"}
                      for i in (graph_id, graph_id, "00000000-0000-0000-0000-000000000000")]}
    accepted = metric(server, root, 'presenced_teams_notifications_total{result="accepted"}')
    assert requests.post(url, json=late, timeout=5).status_code == 202
    assert metric(server, root, 'presenced_teams_notifications_total{result="accepted"}') == \
        accepted + 3
    time.sleep(0.5)
    shown = presence(root, user)
    assert shown["external"]["teams"] == {"availability": "Available", "activity": "Available"}
    assert shown["availability"] == "Available"
