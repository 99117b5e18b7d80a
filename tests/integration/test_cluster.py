"""Cluster mode (docs/cluster.md): three presenced nodes on one PostgreSQL and one NATS server
with JetStream, all real and on loopback. A change made on one node reaches WebSocket watchers
on the others; a node killed with SIGKILL under load loses no acknowledged change and its
clients converge on another node; a restarted node catches up; NATS and PostgreSQL restarts
cost some 503s and nothing acknowledged.

The tests of this module run in order on one cluster: each leaves it with three live nodes.
"""

import collections
import http.server
import os
import pathlib
import re
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from postgres_server import PostgresServer
from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, Watcher, bearer, from_now

NATS_SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "nats" / "server"
STATES = ["Busy", "Away", "DoNotDisturb", "BeRightBack", "Available"]
USERS_PER_WRITER = 4


class Nats:
    """tests/nats/server: a NATS server with JetStream of the module's own, restartable."""

    def __init__(self):
        handle, self.file = tempfile.mkstemp(prefix="presenced-nats-", suffix=".url")
        os.close(handle)
        os.unlink(self.file)
        subprocess.run([str(NATS_SCRIPT), "start", self.file], check=True)
        self.url = pathlib.Path(self.file).read_text().splitlines()[0]

    def restart(self):
        subprocess.run([str(NATS_SCRIPT), "restart", self.file], check=True)

    def stop(self):
        subprocess.run([str(NATS_SCRIPT), "stop", self.file], check=False)


def postgres_url(conninfo):
    """libpq's key=value conninfo of tests/postgres/server as a postgresql:// URL."""
    fields = dict(part.split("=", 1) for part in conninfo.split())
    return "postgresql://%s@%s:%s/%s" % (fields["user"], fields["host"], fields["port"],
                                         fields["dbname"])


def restart_postgres(server):
    """Stops PostgreSQL (fast: connections are cut), then starts it again on the same port."""
    directory = pathlib.Path(server.conninfo_file).read_text().splitlines()[1]
    pg_ctl = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    subprocess.run([*as_postgres, str(pg_ctl), "-D", directory + "/data", "-m", "fast", "-w",
                    "-l", directory + "/server.log", "restart"], check=True,
                   stdout=subprocess.DEVNULL)


class Cluster:
    def __init__(self, root):
        self.root = root
        self.postgres = PostgresServer()
        self.nats = Nats()
        address = "%s,%s" % (self.nats.url, postgres_url(self.postgres.new_database()))
        self.nodes = {}
        try:
            for name in "abc":
                self.nodes[name] = Presenced(root / name,
                                             ["--cluster", address, "--node-id", name])
                if name == "a":
                    self.prepare(Client(self.nodes["a"].url).login("admin", ADMIN_PASSWORD))
        except BaseException:
            self.stop()
            raise

    def prepare(self, admin):
        """The users and tokens the tests share, made before B and C start (they read them
        from the store; later directory changes reach them through the bucket)."""
        answer = admin.put("/api/v1/visibility/policy",
                           {"default_level": "personal", "minimum": "blocked"})
        assert answer.status_code == 200, answer.text
        self.users = ["w%d_%d" % (writer, i) for writer in range(3)
                      for i in range(USERS_PER_WRITER)]
        for user in self.users:
            admin.add_user(user, password="pw-cluster-user")
        admin.add_user("s0", password="pw-cluster-user")  # connects now and then, never sets a state
        admin.add_user("t0", password="pw-cluster-user")  # has calls and meetings
        admin.add_user("p0", password="pw-cluster-user")  # selects a profile
        self.session_token = bearer(admin, "s0").token
        self.admin_token = bearer(admin, "admin").token

    def client(self, name):
        return Client(self.nodes[name].url, self.admin_token)

    def watcher(self, name):
        ws = Watcher(self.nodes[name], self.admin_token)
        ws.subscribe(*self.users)
        for _ in self.users:  # the current state of each, at once
            ws.wait_for(lambda m: m.get("type") == "presence")
        return ws

    def stop(self):
        for node in self.nodes.values():
            node.kill()
        self.nats.stop()
        self.postgres.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    yield c
    c.stop()


def put_manual(client, user, state, note, timeout=10):
    return client.http.put(client.url + "/api/v1/users/%s/presence/manual" % user,
                           json={"state": state, "note": note}, headers=client.headers(),
                           timeout=timeout)


class Writers:
    """One thread per node, each changing its own users' manual state one request at a time,
    keeping what was acknowledged (2xx) and what was sent last without an answer."""

    def __init__(self, cluster, names):
        self.cluster = cluster
        self.acked = {}      # user -> note of the last 2xx
        self.unknown = {}    # user -> note sent without an answer (the node died meanwhile)
        self.statuses = {}   # status -> count
        self.gaps = []       # seconds between two acknowledged changes, per writer
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(name, writer), daemon=True)
                        for writer, name in enumerate(names)]
        for thread in self.threads:
            thread.start()

    def run(self, name, writer):
        client = self.cluster.client(name)
        users = self.cluster.users[writer * USERS_PER_WRITER:(writer + 1) * USERS_PER_WRITER]
        count = 0
        last_ack = time.monotonic()
        while not self.stopping.is_set():
            user = users[count % len(users)]
            note = "%s-%d" % (name, count)
            count += 1
            try:
                answer = put_manual(client, user, STATES[count % len(STATES)], note)
            except requests.RequestException:
                self.unknown[user] = note
                return  # the node is gone: its clients go elsewhere
            self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
            if answer.status_code == 200:
                self.acked[user] = note
                self.unknown.pop(user, None)
                now = time.monotonic()
                self.gaps.append(now - last_ack)
                last_ack = now
            else:
                assert answer.status_code == 503, answer.text
                self.unknown[user] = note  # stored perhaps, not acknowledged
                time.sleep(0.05)

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def accepts(self, user, note):
        return note == self.acked.get(user) or note == self.unknown.get(user)


def notes(name, cluster):
    client = cluster.client(name)
    out = {}
    for user in cluster.users:
        answer = client.get("/api/v1/users/%s/presence" % user)
        assert answer.status_code == 200, answer.text
        out[user] = answer.json().get("note")
    return out


def converged(cluster, writers, names, timeout=10):
    """Every node in `names` shows, for every user written, its last acknowledged note (or the
    one sent without an answer)."""
    deadline = time.monotonic() + timeout
    while True:
        wrong = {}
        for name in names:
            shown = notes(name, cluster)
            wrong.update({(name, user): (shown[user], writers.acked.get(user))
                          for user in writers.acked if not writers.accepts(user, shown[user])})
        if not wrong or time.monotonic() > deadline:
            return wrong
        time.sleep(0.2)


def last_notes(ws, seconds=1.0):
    """The last note each user had in the events a watcher got (drained for `seconds` of quiet)."""
    last = {}
    while True:
        try:
            message = ws.receive(timeout=seconds)
        except TimeoutError:
            return last
        if message.get("type") == "presence":
            last[message["user"]] = message.get("note")


def test_a_change_on_one_node_reaches_watchers_on_the_others(cluster):
    watchers = {name: cluster.watcher(name) for name in "bc"}
    user = cluster.users[0]
    started = time.monotonic()
    assert put_manual(cluster.client("a"), user, "DoNotDisturb", "from a").status_code == 200
    for ws in watchers.values():
        event = ws.presence_of(user, timeout=5, note="from a")
        assert event["availability"] == "DoNotDisturb"
    assert time.monotonic() - started < 2
    # And back from C to A and B.
    on_a = cluster.watcher("a")
    assert put_manual(cluster.client("c"), user, "Away", "from c").status_code == 200
    for ws in (on_a, watchers["b"]):
        assert ws.presence_of(user, timeout=5, note="from c")["availability"] == "Away"
    for ws in (on_a, *watchers.values()):
        ws.close()


def test_calls_and_meetings_on_one_node_show_on_the_others(cluster):
    on_c = Watcher(cluster.nodes["c"], cluster.admin_token)
    on_c.subscribe("t0")
    on_c.presence_of("t0")
    call = {"user": "t0", "device": "desk", "call_id": "x1", "direction": "inbound"}
    answer = cluster.client("a").post("/api/v1/telephony/events", dict(call, state="connected"))
    assert answer.status_code == 202, answer.text
    assert on_c.presence_of("t0", timeout=5, activity="InACall")
    # The call ends through B, which knows it from the bucket only.
    answer = cluster.client("b").post("/api/v1/telephony/events", dict(call, state="ended"))
    assert answer.status_code == 202 and answer.json()["outcome"] == "applied", answer.text
    assert on_c.wait_for(lambda m: m.get("user") == "t0" and m.get("activity") != "InACall",
                         timeout=5)
    meeting = {"id": "m1", "subject": "Planning", "start": from_now(-60), "end": from_now(1800)}
    answer = cluster.client("b").put("/api/v1/users/t0/presence/calendar",
                                     {"appointments": [meeting]})
    assert answer.status_code == 200, answer.text
    assert on_c.presence_of("t0", timeout=5, activity="InAMeeting")
    layers = cluster.client("a").get("/api/v1/users/t0/layers").json()
    assert [a["subject"] for a in layers["calendar"]] == ["Planning"]
    assert layers["telephony"] == []
    on_c.close()


def test_a_session_on_one_node_shows_on_the_others(cluster):
    on_a = Watcher(cluster.nodes["a"], cluster.admin_token)
    on_a.subscribe("s0")
    assert on_a.presence_of("s0")["availability"] == "Offline"
    client = Watcher(cluster.nodes["b"], cluster.session_token)
    assert on_a.presence_of("s0", timeout=5)["availability"] == "Available"
    client.close()
    assert on_a.presence_of("s0", timeout=5)["availability"] == "Offline"
    on_a.close()


def eventually(check, timeout=1.0):
    """check()'s first truthy value within `timeout` seconds, else its last one."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def test_a_user_created_on_one_node_logs_in_on_the_others_at_once(cluster):
    admin = cluster.client("a")
    admin.add_user("d0", password="pw-directory")
    created = time.monotonic()
    for name in "bc":
        assert eventually(lambda: cluster.client(name).get("/api/v1/users/d0").status_code == 200)
        assert time.monotonic() - created < 1, name
    on_b = Client(cluster.nodes["b"].url).login("d0", "pw-directory")
    Client(cluster.nodes["c"].url).login("d0", "pw-directory")
    # B's sign-in token is good on A and C as soon as B answered (within their watch delay).
    for name in "ac":
        user = Client(cluster.nodes[name].url, on_b.token)
        assert eventually(lambda: user.get("/api/v1/users/d0/presence").status_code == 200), name
    # A password changed on C holds on A.
    assert cluster.client("c").patch("/api/v1/users/d0", {"password": "pw-directory-2"}
                                     ).status_code == 200
    on_a = Client(cluster.nodes["a"].url)
    assert eventually(lambda: on_a.post("/api/v1/auth/token", {
        "username": "d0", "password": "pw-directory-2"}).status_code == 200)


def test_groups_and_devices_changed_on_one_node_show_on_the_others(cluster):
    admin = cluster.client("a")
    assert admin.put("/api/v1/groups/ops", {"id": "ops", "display_name": "Operations"}
                     ).status_code == 200
    admin.add_user("g0", password="pw-directory", groups=["ops"])
    on_c = cluster.client("c")

    def ops_members():
        groups = {g["id"]: g for g in on_c.get("/api/v1/groups").json()["groups"]}
        return groups.get("ops", {}).get("members")

    assert eventually(lambda: ops_members() == ["g0"])
    # The directory reaches each node within its watch delay: B acts once it knows g0.
    assert eventually(lambda: cluster.client("b").get("/api/v1/users/g0").status_code == 200)
    answer = cluster.client("b").post("/api/v1/users/g0/devices",
                                      {"device": "desk", "label": "Desk phone",
                                       "sip_password": "pw-desk-secret"})
    assert answer.status_code == 201, answer.text
    assert eventually(lambda: on_c.get("/api/v1/users/g0/devices").json()["devices"] == [
        {"device": "desk", "label": "Desk phone", "has_sip_password": True}])
    assert admin.delete("/api/v1/users/g0/devices/desk").status_code == 204
    assert admin.delete("/api/v1/groups/ops").status_code == 204
    assert eventually(lambda: cluster.client("b").get("/api/v1/users/g0/devices").json()
                      ["devices"] == [])
    assert eventually(lambda: ops_members() is None)


def test_a_visibility_change_on_one_node_holds_for_a_watcher_on_another(cluster):
    admin = cluster.client("a")
    admin.add_user("v0", password="pw-directory")  # the presentity
    admin.add_user("v1", password="pw-directory")  # who watches it through B
    watcher_token = bearer(admin, "v1").token
    assert eventually(lambda: Client(cluster.nodes["b"].url, watcher_token).get(
        "/api/v1/users/v0/presence").status_code == 200)
    assert put_manual(admin, "v0", "Busy", "deep work").status_code == 200
    ws = Watcher(cluster.nodes["b"], watcher_token)
    ws.subscribe("v0")
    ws.presence_of("v0", timeout=5, availability="Busy", note="deep work")
    answer = admin.put("/api/v1/users/v0/visibility/v1", {"level": "blocked"})
    assert answer.status_code == 200, answer.text
    seen_on_b = Client(cluster.nodes["b"].url, watcher_token)
    assert eventually(lambda: seen_on_b.get("/api/v1/users/v0/presence").json()["availability"]
                      == "PresenceUnknown")
    # A later change reaches B (its admin sees it) but not the blocked watcher.
    assert put_manual(admin, "v0", "Away", "gone").status_code == 200
    assert eventually(lambda: cluster.client("b").get("/api/v1/users/v0/presence").json()
                      .get("note") == "gone")
    assert "gone" not in [m.get("note") for m in ws_messages(ws) if m.get("user") == "v0"]
    # Cleared on C (once C knows the rule): the watcher on B sees again.
    assert eventually(lambda: {"watcher": "v1", "level": "blocked"} in cluster.client("c").get(
        "/api/v1/users/v0/visibility").json()["watchers"])
    assert cluster.client("c").delete("/api/v1/users/v0/visibility/v1").status_code == 204
    assert eventually(lambda: seen_on_b.get("/api/v1/users/v0/presence").json().get("note")
                      == "gone")
    ws.close()


def ws_messages(ws, seconds=0.5):
    """What a watcher got until `seconds` of quiet."""
    messages = []
    while True:
        try:
            messages.append(ws.receive(timeout=seconds))
        except TimeoutError:
            return messages


def test_a_user_deleted_on_one_node_loses_its_token_on_the_others(cluster):
    admin = cluster.client("a")
    admin.add_user("x0", password="pw-directory")
    token = bearer(admin, "x0").token
    on_b = Client(cluster.nodes["b"].url, token)
    assert eventually(lambda: on_b.get("/api/v1/users/x0/presence").status_code == 200)
    assert admin.delete("/api/v1/users/x0").status_code == 204
    assert eventually(lambda: on_b.get("/api/v1/users/x0/presence").status_code == 401)
    assert eventually(lambda: cluster.client("c").get("/api/v1/users/x0").status_code == 404)


def test_a_state_defined_on_one_node_is_usable_on_another(cluster):
    admin = cluster.client("a")
    admin.add_user("e0", password="pw-directory")
    answer = admin.put("/api/v1/states/workshop",
                       {"id": "workshop", "type": "dnd", "message": "In a workshop"})
    assert answer.status_code == 200, answer.text
    on_c = cluster.client("c")
    answer = eventually(lambda: put_manual(on_c, "e0", "workshop", ""))
    assert answer.status_code == 200, answer.text
    assert answer.json()["availability"] == "DoNotDisturb"
    shown = eventually(lambda: cluster.client("b").get("/api/v1/users/e0/presence").json()
                       .get("state") == "workshop")
    assert shown
    # Deleted on B: C refuses it.
    assert admin.put("/api/v1/users/e0/presence/manual", {"state": "Available"}
                     ).status_code == 200
    assert cluster.client("b").delete("/api/v1/states/workshop").status_code == 204
    assert eventually(lambda: put_manual(on_c, "e0", "workshop", "").status_code >= 400)


def test_sigkill_of_a_node_under_load_loses_no_acknowledged_change(cluster):
    watchers = {name: cluster.watcher(name) for name in "abc"}
    session_on_b = Watcher(cluster.nodes["b"], cluster.session_token)
    session_seen = Watcher(cluster.nodes["c"], cluster.admin_token)
    session_seen.subscribe("s0")
    session_seen.presence_of("s0", availability="Available")
    writers = Writers(cluster, "abc")
    time.sleep(1.5)
    cluster.nodes["b"].kill()
    killed = time.monotonic()
    time.sleep(1.5)
    writers.stop()
    assert writers.statuses.get(200, 0) > 30, writers.statuses
    for name in "ac":
        last = last_notes(watchers[name])
        missed = {user: (last.get(user), note) for user, note in writers.acked.items()
                  if not writers.accepts(user, last.get(user))}
        assert not missed, (name, missed)
    assert not converged(cluster, writers, "ac")
    # B's client loses its connection and reconnects to A; a fresh subscription (sequences are
    # per node) brings every user's current state, which is what was acknowledged.
    assert connection_closed(watchers["b"])
    moved = Watcher(cluster.nodes["a"], cluster.admin_token)
    moved.subscribe(*cluster.users)
    snapshot = {}
    while len(snapshot) < len(cluster.users):
        event = moved.wait_for(lambda m: m.get("type") == "presence")
        snapshot[event["user"]] = event.get("note")
    wrong = {user: (snapshot[user], note) for user, note in writers.acked.items()
             if not writers.accepts(user, snapshot[user])}
    assert not wrong, wrong
    moved.close()
    for name in "ac":
        watchers[name].close()
    # The user connected only to B goes offline on C once B's lease ends (10 s after its last
    # heartbeat, docs/cluster.md).
    session_seen.presence_of("s0", timeout=20, availability="Offline")
    assert 5 < time.monotonic() - killed < 20
    session_seen.close()
    session_on_b.close()


def connection_closed(ws, timeout=5):
    """True once the WebSocket reports its connection gone (events queued before are skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            return False
        except Exception:  # noqa: BLE001 - websocket-client's closed-connection errors vary
            return True
    return False


def test_a_restarted_node_catches_up(cluster):
    # Changes made while B is down, then B starts again.
    client = cluster.client("c")
    for i, user in enumerate(cluster.users):
        assert put_manual(client, user, "Busy", "while b was down %d" % i).status_code == 200
    node = cluster.nodes["b"]
    node.start()
    assert any(re.search(r"caught up with \d+ layers", line) for line in node.log), node.log
    shown = notes("b", cluster)
    assert shown == {user: "while b was down %d" % i for i, user in enumerate(cluster.users)}
    ws = cluster.watcher("b")
    assert put_manual(cluster.client("a"), cluster.users[1], "Away", "after b came back"
                      ).status_code == 200
    ws.presence_of(cluster.users[1], timeout=5, note="after b came back")
    ws.close()


@pytest.mark.parametrize("component", ["nats", "postgres"])
def test_a_restart_of_nats_or_postgres_costs_503s_and_no_acknowledged_change(cluster, component):
    watchers = {name: cluster.watcher(name) for name in "abc"}
    writers = Writers(cluster, "abc")
    time.sleep(1)
    if component == "nats":
        cluster.nats.restart()
    else:
        restart_postgres(cluster.postgres)
    time.sleep(3)
    writers.stop()
    print(component, writers.statuses, "longest gap %.2fs" % max(writers.gaps))
    assert max(writers.gaps) < 15, writers.gaps
    # Every writer got changes acknowledged after the restart.
    assert writers.statuses.get(200, 0) > 30, writers.statuses
    assert not converged(cluster, writers, "abc")
    for name, ws in watchers.items():
        last = last_notes(ws)
        missed = {user: (last.get(user), note) for user, note in writers.acked.items()
                  if not writers.accepts(user, last.get(user))}
        assert not missed, (name, missed)
        ws.close()


# ---- Work done once: calendar sync partitioned by user, logouts of a dead node's users ----

def rendezvous_owner(user, nodes):
    """The node that syncs `user`'s calendar: the same hash as src/cluster/partition.cpp."""
    mask = (1 << 64) - 1

    def fnv1a(h, data):
        for byte in data:
            h = ((h ^ byte) * 0x100000001b3) & mask
        return h

    def mix(h):
        h ^= h >> 30
        h = (h * 0xbf58476d1ce4e5b9) & mask
        h ^= h >> 27
        h = (h * 0x94d049bb133111eb) & mask
        return h ^ (h >> 31)

    def weight(node):
        h = fnv1a(fnv1a(0xcbf29ce484222325, node.encode()), b"\0")
        return mix(fnv1a(h, user.encode()))

    return max(sorted(nodes), key=weight)


class CountingIcsServer:
    """ICS calendars on 127.0.0.1, one per path, each holding a meeting now; counts the GETs
    of each path (every node's fetch is one)."""

    def __init__(self):
        now = datetime.now(timezone.utc).replace(microsecond=0)
        stamp = "%Y%m%dT%H%M%SZ"
        self.body = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
                     "UID:cluster-meeting\r\nDTSTAMP:%s\r\nDTSTART:%s\r\nDTEND:%s\r\n"
                     "SUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n" % (
                         now.strftime(stamp), (now - timedelta(minutes=5)).strftime(stamp),
                         (now + timedelta(hours=2)).strftime(stamp))).encode()
        self.gets = collections.Counter()
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with owner.lock:
                    owner.gets[self.path] += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def counts(self):
        with self.lock:
            return dict(self.gets)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def metric(client, name):
    text = client.get("/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


def wait_until(check, timeout, message):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message()
        time.sleep(0.1)


def restart_if_dead(node):
    """Leaves the cluster with three live nodes for the tests after."""
    if node.process.poll() is not None:
        node.start()


def connect(node, token, timeout=5):
    """A WebSocket of `token`'s user on `node`, once the token has reached it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Watcher(node, token)
        except Exception:  # noqa: BLE001 - a refused handshake; the token is on its way
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_each_calendar_source_is_synced_by_one_node_and_taken_over_after_a_kill(cluster):
    ics = CountingIcsServer()
    victim = None
    try:
        admin = cluster.client("a")
        users = ["cal%d" % i for i in range(9)]
        for user in users:
            admin.add_user(user, password="pw-cluster-user")
        # Calendar sources reach the other nodes at their next start (docs/cluster.md): set
        # each on every node, which is what a start would load.
        for name in "abc":
            client = cluster.client(name)
            for user in users:
                assert eventually(lambda: client.put(
                    "/api/v1/users/%s/calendar/source" % user,
                    {"mode": "ics", "url": "%s/%s.ics" % (ics.url, user)}).status_code == 200,
                    timeout=5), (name, user)
        paths = {user: "/%s.ics" % user for user in users}
        owners = {user: rendezvous_owner(user, "abc") for user in users}
        expected = collections.Counter(owners.values())

        def owned():
            return {name: metric(cluster.client(name), "presenced_calendar_sources")
                    for name in "abc"}

        wait_until(lambda: all(ics.counts().get(p, 0) >= 1 for p in paths.values())
                   and owned() == {name: expected[name] for name in "abc"}, 20,
                   lambda: (ics.counts(), owned(), dict(expected)))
        # Each source fetched by one node, the one rendezvous hashing names.
        assert {user: ics.counts()[p] for user, p in paths.items()} == {u: 1 for u in users}
        # That node's sync reaches every node through the bucket.
        for name in "abc":
            client = cluster.client(name)
            assert eventually(lambda: client.get("/api/v1/users/cal0/presence").json().get(
                "activity") == "InAMeeting", timeout=5), name

        # SIGKILL the node with the most sources: the survivors take them within the lease.
        victim = max("abc", key=lambda name: (expected[name], name))
        moved = [p for user, p in paths.items() if owners[user] == victim]
        before = ics.counts()
        cluster.nodes[victim].kill()
        killed = time.monotonic()
        wait_until(lambda: all(ics.counts().get(p, 0) > before[p] for p in moved), 25,
                   lambda: (ics.counts(), before, moved))
        taken_after = time.monotonic() - killed
        survivors = [name for name in "abc" if name != victim]
        after = {name: metric(cluster.client(name), "presenced_calendar_sources")
                 for name in survivors}
        assert sum(after.values()) == len(users), after
        # Only the dead node's sources moved, and not before its lease (10 s, 2 s beats).
        assert all(ics.counts()[p] == before[p] for p in paths.values() if p not in moved)
        assert 5 < taken_after < 25, taken_after
        print("calendar sources of %s taken over %.1f s after SIGKILL" % (victim, taken_after))
        # Started again, it joins: its sources move back to it.
        before = ics.counts()
        cluster.nodes[victim].start()
        wait_until(lambda: owned() == {name: expected[name] for name in "abc"}
                   and all(ics.counts()[p] > before[p] for p in moved), 20,
                   lambda: (ics.counts(), before, owned()))
    finally:
        ics.close()
        if victim:
            restart_if_dead(cluster.nodes[victim])


def test_a_dead_nodes_user_gets_the_logout_state_once(cluster):
    admin = cluster.client("a")
    admin.add_user("o0", password="pw-cluster-user")
    assert admin.patch("/api/v1/users/o0", {"logout_state": "Away"}).status_code == 200
    token = bearer(admin, "o0").token
    on_a = Watcher(cluster.nodes["a"], cluster.admin_token)
    on_a.subscribe("o0")
    on_a.presence_of("o0", availability="Offline")
    # The user's only session is on C (the token and setting reach C through the bucket).
    session = connect(cluster.nodes["c"], token)
    on_a.presence_of("o0", timeout=5, availability="Available")

    def claims():
        return sum(metric(cluster.client(name), "presenced_cluster_orphaned_logouts_total")
                   for name in "ab")

    before = claims()
    cluster.nodes["c"].kill()
    killed = time.monotonic()
    try:
        # After C's lease its session ends on A and B, and one of them applies the logout
        # state, which reaches the other through the bucket.
        on_a.presence_of("o0", timeout=25, availability="Away")
        assert time.monotonic() - killed > 5
        for name in "ab":
            client = cluster.client(name)
            assert eventually(lambda: client.get("/api/v1/users/o0/presence").json().get(
                "availability") == "Away", timeout=5), name
        assert claims() - before == 1
        assert not eventually(lambda: claims() - before > 1, timeout=2)
    finally:
        on_a.close()
        session.close()
        restart_if_dead(cluster.nodes["c"])


def contacts_of(client, user):
    return client.get("/api/v1/users/%s/contacts" % user).json().get("users")


def presence_events(ws, seconds=1.0):
    """The users of the presence events a watcher gets until `seconds` pass without one."""
    users = []
    while True:
        try:
            message = ws.receive(timeout=seconds)
        except TimeoutError:
            return users
        if message.get("type") == "presence":
            users.append(message["user"])


def test_contacts_changed_on_one_node_hold_for_watchers_on_another(cluster):
    admin = cluster.client("a")
    admin.add_user("k0", password="pw-contacts")
    on_b, on_c = cluster.client("b"), cluster.client("c")
    assert eventually(lambda: on_b.get("/api/v1/users/k0").status_code == 200, timeout=5)
    k0_on_b = Client(cluster.nodes["b"].url).login("k0", "pw-contacts")
    contact = cluster.users[1]
    answer = admin.put("/api/v1/users/k0/contacts", {"users": [contact, "t0"]})
    assert answer.status_code == 200, answer.text
    assert eventually(lambda: contacts_of(on_b, "k0") == [contact, "t0"], timeout=5)
    # k0's client on B that watches its contacts gets them, and a change made through C.
    ws = Watcher(cluster.nodes["b"], k0_on_b.token)
    ws.send({"op": "subscribe", "contacts": True})
    assert ws.presence_of(contact, timeout=5)
    assert put_manual(on_c, contact, "Busy", "for contacts").status_code == 200
    assert ws.presence_of(contact, timeout=5, note="for contacts")
    ws.close()
    # A contact removed through C is gone on B: a new subscription to k0's contacts skips it.
    assert eventually(lambda: contacts_of(on_c, "k0") == [contact, "t0"], timeout=5)
    assert on_c.put("/api/v1/users/k0/contacts", {"users": ["t0"]}).status_code == 200
    assert eventually(lambda: contacts_of(on_b, "k0") == ["t0"], timeout=5)
    assert contacts_of(admin, "k0") == ["t0"]
    ws = Watcher(cluster.nodes["b"], k0_on_b.token)
    ws.send({"op": "subscribe", "contacts": True})
    assert presence_events(ws) == ["t0"]
    ws.close()


def selection_of(client, user):
    return client.get("/api/v1/users/%s/profile" % user).json().get("profile")


def test_a_profile_selected_on_one_node_is_known_and_ended_once_on_the_others(cluster):
    admin = cluster.client("a")
    assert admin.put("/api/v1/profiles/meeting", {"state": "Busy", "note": "meeting"}
                     ).status_code in (200, 201)
    assert put_manual(admin, "p0", "Away", "back soon").status_code == 200
    on_b = Watcher(cluster.nodes["b"], cluster.admin_token)
    on_b.subscribe("p0")
    on_b.presence_of("p0", timeout=5, note="back soon")
    answer = admin.put("/api/v1/users/p0/profile", {"profile": "meeting", "until": from_now(4)})
    assert answer.status_code == 200, answer.text
    for name in "bc":
        assert eventually(lambda: selection_of(cluster.client(name), "p0") == "meeting",
                          timeout=3), name
    # B knows the selection: at its end it restores the state before it with no moment of
    # the ended state's automatic presence between, whichever node wrote it.
    on_b.presence_of("p0", timeout=5, availability="Busy", note="meeting")
    ended = on_b.wait_for(lambda m: m.get("type") == "presence" and m.get("user") == "p0",
                          timeout=10)
    assert (ended["availability"], ended.get("note")) == ("Away", "back soon"), ended
    on_b.close()
    for name in "abc":
        assert eventually(lambda: selection_of(cluster.client(name), "p0") is None,
                          timeout=5), name


def test_documents_changed_on_one_node_show_on_the_others(cluster):
    a, b, c = (cluster.client(name) for name in "abc")

    def profile_ids(client, path):
        return sorted(p["id"] for p in client.get(path).json()["profiles"])

    # A shared profile made on A shows on C, a personal one made on B shows on A.
    assert a.put("/api/v1/profiles/lunch", {"state": "Away", "note": "lunch"}
                 ).status_code in (200, 201)
    assert eventually(lambda: "lunch" in profile_ids(c, "/api/v1/profiles"), timeout=5)
    answer = b.put("/api/v1/users/p0/profiles/deep", {"state": "DoNotDisturb", "note": "deep"})
    assert answer.status_code == 201, answer.text
    assert eventually(lambda: "deep" in profile_ids(a, "/api/v1/users/p0/profiles"), timeout=5)
    # Call settings put on A show on B.
    answer = a.put("/api/v1/users/t0/call-settings", {
        "busy_on_busy": True, "find_me": [{"destination": "+4930999", "delay_s": 20}]})
    assert answer.status_code == 200, answer.text
    settings = answer.json()
    assert eventually(lambda: b.get("/api/v1/users/t0/call-settings").json() == settings,
                      timeout=5)
    # A queue made on B shows on C; deleted on C it is gone on A.
    answer = b.put("/api/v1/queues/hotline", {"members": ["t0", "p0"]})
    assert answer.status_code == 201, answer.text
    assert eventually(lambda: c.get("/api/v1/queues/hotline").status_code == 200, timeout=5)
    assert c.get("/api/v1/queues/hotline").json()["members"] == ["t0", "p0"]
    assert c.delete("/api/v1/queues/hotline").status_code == 204
    assert eventually(lambda: a.get("/api/v1/queues/hotline").status_code == 404, timeout=5)
    # A calendar source set on C shows on A; deleted on A it is gone on B.
    answer = c.put("/api/v1/users/t0/calendar/source",
                   {"mode": "ics", "url": "http://127.0.0.1:9/t0.ics", "password": "cal-secret"})
    assert answer.status_code == 200, answer.text
    def source(client):
        return client.get("/api/v1/users/t0/calendar/source")

    assert eventually(lambda: source(a).status_code == 200, timeout=5)
    assert source(a).json()["url"] == "http://127.0.0.1:9/t0.ics"
    assert source(a).json()["password_set"] is True
    assert eventually(lambda: source(b).status_code == 200, timeout=5)
    assert a.delete("/api/v1/users/t0/calendar/source").status_code == 204
    assert eventually(lambda: source(b).status_code == 404, timeout=5)
    # The shared profile deleted on B is gone on A and C.
    assert eventually(lambda: "lunch" in profile_ids(b, "/api/v1/profiles"), timeout=5)
    assert b.delete("/api/v1/profiles/lunch").status_code == 204
    for client in (a, c):
        assert eventually(lambda: "lunch" not in profile_ids(client, "/api/v1/profiles"),
                          timeout=5)


def default_state(client):
    return [s["id"] for s in client.get("/api/v1/states").json()["states"] if s["default"]]


def test_settings_changed_on_one_node_hold_on_the_others(cluster):
    a, b, c = (cluster.client(name) for name in "abc")
    policy = {"default_level": "team", "minimum": "public"}
    assert a.put("/api/v1/visibility/policy", policy).status_code == 200
    for client in (b, c):
        assert eventually(lambda: client.get("/api/v1/visibility/policy").json() == policy,
                          timeout=5)
    answer = b.put("/api/v1/routing/state-actions", {"xa": "find_me"})
    assert answer.status_code == 200, answer.text
    actions = answer.json()
    for client in (a, c):
        assert eventually(lambda: client.get("/api/v1/routing/state-actions").json() == actions,
                          timeout=5)
    answer = c.put("/api/v1/states/onsite", {"id": "onsite", "type": "available",
                                             "message": "On site", "default": True})
    assert answer.status_code == 200, answer.text
    for client in (a, b):
        assert eventually(lambda: default_state(client) == ["onsite"], timeout=5)
    answer = a.put("/api/v1/states/onsite", {"id": "onsite", "type": "available",
                                             "message": "On site", "default": False})
    assert answer.status_code == 200, answer.text
    for client in (b, c):
        assert eventually(lambda: default_state(client) == [], timeout=5)
    # Back to the module's policy, on every node.
    policy = {"default_level": "personal", "minimum": "blocked"}
    assert b.put("/api/v1/visibility/policy", policy).status_code == 200
    for client in (a, c):
        assert eventually(lambda: client.get("/api/v1/visibility/policy").json() == policy,
                          timeout=5)
