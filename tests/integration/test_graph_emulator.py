"""The Graph emulator keeps Graph's documented presence rules (presence-reference §1), so tests
against it mean something: pairs, session expiry, aggregation, the fade, subscriptions, 429."""

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from graph_emulator_process import CLIENT_ID, GraphEmulator


@pytest.fixture
def graph():
    emulator = GraphEmulator("--inactive-after", "0.5", "--away-after", "0.5",
                             "--duration-scale", "0.01", "--rate-limit", "20", "--rate-window", "2")
    yield emulator
    emulator.stop()


def call(graph, method, path, body=None, token=None):
    headers = {"Authorization": f"Bearer {token or graph.token()}"}
    return requests.request(method, f"{graph.url}/v1.0/{path}", json=body, headers=headers,
                            timeout=10)


def presence(graph, user, token):
    value = call(graph, "GET", f"users/{user}/presence", token=token).json()
    return value["availability"], value["activity"]


def test_token_is_required_and_checked(graph):
    user = graph.add_user("ann@contoso.com")
    assert call(graph, "GET", f"users/{user}/presence", token="forged").status_code == 401
    bad = requests.post(graph.token_url, data={"grant_type": "client_credentials",
                                               "client_id": CLIENT_ID, "client_secret": "x"})
    assert bad.status_code == 401


def test_set_presence_allows_only_documented_pairs_and_durations(graph):
    # Graph setPresence: sessionId is the app id; pairs and PT5M-PT4H only.
    user, token = graph.add_user("ann@contoso.com"), graph.token()
    base = {"sessionId": CLIENT_ID, "availability": "Busy", "activity": "InACall"}
    assert call(graph, "POST", f"users/{user}/presence/setPresence",
                dict(base, activity="Busy"), token).status_code == 400
    assert call(graph, "POST", f"users/{user}/presence/setPresence",
                dict(base, sessionId="other"), token).status_code == 400
    assert call(graph, "POST", f"users/{user}/presence/setPresence",
                dict(base, expirationDuration="PT4M"), token).status_code == 400
    assert call(graph, "POST", f"users/{user}/presence/setPresence",
                dict(base, expirationDuration="PT5H"), token).status_code == 400
    assert call(graph, "POST", f"users/{user}/presence/setPresence",
                dict(base, expirationDuration="PT5M"), token).status_code == 200
    assert presence(graph, user, token) == ("Busy", "InACall")
    # PT5M scaled by 0.01 is 3 s: then the session is gone and the user Offline.
    time.sleep(3.3)
    assert presence(graph, user, token) == ("Offline", "Offline")
    assert call(graph, "POST", f"users/{user}/presence/clearPresence",
                {"sessionId": CLIENT_ID}, token).status_code == 404


def test_aggregation_precedence_and_preferred_presence(graph):
    user, token = graph.add_user("ann@contoso.com"), graph.token()
    graph.teams_client(user, "Available", "Available")
    call(graph, "POST", f"users/{user}/presence/setPresence",
         {"sessionId": CLIENT_ID, "availability": "Away", "activity": "Away"}, token)
    # DoNotDisturb > Busy > Available > Away among sessions: the app cannot push Away.
    assert presence(graph, user, token) == ("Available", "Available")
    call(graph, "POST", f"users/{user}/presence/setPresence",
         {"sessionId": CLIENT_ID, "availability": "Busy", "activity": "InACall"}, token)
    assert presence(graph, user, token) == ("Busy", "InACall")
    # User-preferred beats every session.
    assert call(graph, "POST", f"users/{user}/presence/setUserPreferredPresence",
                {"availability": "DoNotDisturb", "activity": "DoNotDisturb"}, token).status_code == 200
    assert presence(graph, user, token) == ("DoNotDisturb", "DoNotDisturb")
    call(graph, "POST", f"users/{user}/presence/clearUserPreferredPresence", {}, token)
    assert presence(graph, user, token) == ("Busy", "InACall")
    # The last session cleared: Offline, whatever is preferred.
    call(graph, "POST", f"users/{user}/presence/clearPresence", {"sessionId": CLIENT_ID}, token)
    graph.control("DELETE", f"users/{user}/client")
    graph.teams_preferred(user, "Busy", "Busy")
    assert presence(graph, user, token) == ("Offline", "Offline")


def test_available_fades_to_inactive_then_away(graph):
    user, token = graph.add_user("ann@contoso.com"), graph.token()
    graph.teams_client(user, "Available", "Available")
    assert presence(graph, user, token) == ("Available", "Available")
    time.sleep(0.7)
    assert presence(graph, user, token) == ("Available", "AvailableInactive")
    time.sleep(0.5)
    assert presence(graph, user, token) == ("Away", "Away")


def test_batch_read_limit(graph):
    token = graph.token()
    ids = [graph.add_user("ann@contoso.com")]
    assert call(graph, "POST", "communications/getPresencesByUserId", {"ids": ids},
                token).status_code == 200
    assert call(graph, "POST", "communications/getPresencesByUserId",
                {"ids": ["x"] * 651}, token).status_code == 400


def test_throttling_answers_429_with_retry_after(graph):
    user, token = graph.add_user("ann@contoso.com"), graph.token()
    answers = [call(graph, "GET", f"users/{user}/presence", token=token) for _ in range(25)]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled and int(throttled[0].headers["Retry-After"]) >= 1
    time.sleep(int(throttled[0].headers["Retry-After"]))
    assert call(graph, "GET", f"users/{user}/presence", token=token).status_code == 200


class Receiver:
    """A notification endpoint: answers the validation handshake, keeps what is posted."""

    def __init__(self, echo=True):
        received, self.received = [], []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                token = self.path.partition("validationToken=")[2]
                answer = token.encode() if token and echo else b""
                if not token:
                    received.append(json.loads(body))
                self.send_response(200 if token else 202)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"


def subscription_body(url, ids, seconds=60):
    expires = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    quoted = ",".join(f"'{i}'" for i in ids)
    return {"changeType": "updated", "notificationUrl": url, "clientState": "s3cret",
            "resource": f"/communications/presences?$filter=id in ({quoted})",
            "expirationDateTime": expires.isoformat().replace("+00:00", "Z")}


def test_subscription_handshake_notifications_and_lifetime(graph):
    user, token = graph.add_user("ann@contoso.com"), graph.token()
    refusing = Receiver(echo=False)
    assert call(graph, "POST", "subscriptions", subscription_body(refusing.url, [user]),
                token).status_code == 400
    assert call(graph, "POST", "subscriptions", subscription_body(refusing.url, [user], 7200),
                token).status_code == 400
    assert call(graph, "POST", "subscriptions", subscription_body(refusing.url, ["x"] * 651),
                token).status_code == 400
    receiver = Receiver()
    created = call(graph, "POST", "subscriptions", subscription_body(receiver.url, [user], 2), token)
    assert created.status_code == 201
    graph.teams_client(user, "Busy", "InACall")
    deadline = time.monotonic() + 3
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.02)
    item = receiver.received[0]["value"][0]
    assert item["clientState"] == "s3cret"
    assert item["resource"] == f"communications/presences/{user}"
    # Renewed with PATCH; past its end it notifies no more.
    renewed = call(graph, "PATCH", f"subscriptions/{created.json()['id']}",
                   {"expirationDateTime": subscription_body("", [], 1)["expirationDateTime"]}, token)
    assert renewed.status_code == 200
    time.sleep(1.3)
    count = len(receiver.received)
    graph.teams_client(user, "DoNotDisturb", "Presenting")
    time.sleep(0.5)
    assert len(receiver.received) == count
