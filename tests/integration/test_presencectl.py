"""presencectl against a real presenced on 127.0.0.1 (port 0, fresh data dir).

Every test runs the CLI as a user would, with its own HOME and XDG_CONFIG_HOME, and checks
exit status, output and what the server then holds. Expected error messages are read from the
server itself, so the tests check that the CLI passes them on, not their wording.
"""

import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from presenced_fixture import ADMIN_PASSWORD, Presenced

PRESENCECTL = os.environ.get("PRESENCECTL_BIN", "presencectl")
PRESENCE_LINE = re.compile(r"^(\S+)  (\w+) / (\w+)(?:  \[([\w, ]+)\])?(?:  \"(.*)\")?"
                           r"(?:  until (\S+))?  \(seq (\d+)\)$")


def server_error(url, method, path, token, body=None):
    """The message of the server's error body for a request that must fail."""
    request = urllib.request.Request(
        url + path, method=method, headers={"Authorization": "Bearer " + token},
        data=None if body is None else json.dumps(body).encode())
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=10)
    return failure.value.code, json.load(failure.value)["error"]["message"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Presenced(tmp_path_factory.mktemp("data"))
    yield running
    running.stop()


class Cli:
    """Runs presencectl with a private HOME and config directory."""

    def __init__(self, url, home, token=None):
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PRESENCECTL_")}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "xdg"),
                        PRESENCECTL_SERVER=url)
        if token:
            self.env["PRESENCECTL_TOKEN"] = token

    def token_file(self):
        return self.home / "xdg" / "presencectl" / "token"

    def run(self, *args, stdin="", timeout=30):
        return subprocess.run([PRESENCECTL, *args], env=self.env, input=stdin, text=True,
                              capture_output=True, timeout=timeout)

    def ok(self, *args, stdin=""):
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args):
        return json.loads(self.ok("--json", *args))

    def popen(self, *args):
        return subprocess.Popen([PRESENCECTL, *args], env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def admin_token(server, tmp_path_factory):
    cli = Cli(server.url, tmp_path_factory.mktemp("admin"))
    cli.ok("login", "admin", stdin=ADMIN_PASSWORD + "\n")
    return cli.token_file().read_text().strip()


@pytest.fixture
def admin(server, admin_token, tmp_path):
    return Cli(server.url, tmp_path, token=admin_token)


@pytest.fixture
def fresh(server, tmp_path):
    """A CLI that is not logged in."""
    return Cli(server.url, tmp_path)


def add_user(admin, user_id, password="pw-" + "x" * 8):
    admin.ok("user", "add", user_id, "--password", password)
    return password


def parse_line(line):
    match = PRESENCE_LINE.match(line.rstrip("\n"))
    assert match, line
    user, availability, activity, flags, note, until, seq = match.groups()
    return {"user": user, "availability": availability, "activity": activity,
            "flags": flags.split(", ") if flags else [], "note": note, "until": until,
            "sequence": int(seq)}


def read_line(process, timeout=10):
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


# ---- login and logout ----

def test_login_reads_the_password_from_stdin_and_saves_the_token(fresh):
    done = fresh.run("login", "admin", stdin=ADMIN_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    token_file = fresh.token_file()
    assert str(token_file) in done.stdout
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().strip()
    assert fresh.json("status", "get", "admin")["user"] == "admin"


def test_login_without_xdg_config_home_uses_dot_config(fresh):
    del fresh.env["XDG_CONFIG_HOME"]
    fresh.ok("login", "admin", stdin=ADMIN_PASSWORD + "\n")
    assert (fresh.home / ".config" / "presencectl" / "token").exists()
    assert fresh.json("status", "get", "admin")["user"] == "admin"


def test_login_with_a_wrong_password_fails_and_saves_nothing(server, fresh):
    done = fresh.run("login", "admin", stdin="wrong\n")
    assert done.returncode == 1
    assert done.stderr.startswith("presencectl: ") and done.stderr.endswith("(HTTP 401)\n")
    assert not fresh.token_file().exists()


def test_logout_revokes_the_token_and_removes_the_file(fresh):
    fresh.ok("login", "admin", "--password", ADMIN_PASSWORD)
    token = fresh.token_file().read_text().strip()
    fresh.ok("logout")
    assert not fresh.token_file().exists()
    fresh.env["PRESENCECTL_TOKEN"] = token
    done = fresh.run("status", "get", "admin")
    assert done.returncode == 1 and "(HTTP 401)" in done.stderr


def test_without_any_token_the_cli_says_how_to_log_in(fresh):
    done = fresh.run("status", "get", "admin")
    assert done.returncode == 1
    assert "presencectl login" in done.stderr


# ---- users ----

def test_user_add_show_list_set_delete(admin):
    admin.ok("user", "add", "ulla", "--name", "Ulla Example", "--password", "pw1",
             "--group", "sales", "--group", "support", "--sip-password", "sip1")
    user = admin.json("user", "show", "ulla")
    assert user["display_name"] == "Ulla Example"
    assert user["groups"] == ["sales", "support"]
    assert user["role"] == "user" and user["has_sip_password"] is True
    assert "Ulla Example" in admin.ok("user", "list", "--search", "ull")
    assert [u["id"] for u in admin.json("user", "list", "--search", "ulla")["users"]] == ["ulla"]
    changed = admin.json("user", "set", "ulla", "--idle-minutes", "12", "--name", "Ulla E.")
    assert changed["settings"]["idle_minutes"] == 12 and changed["display_name"] == "Ulla E."
    admin.ok("user", "delete", "ulla")
    assert admin.run("user", "show", "ulla").returncode == 1


def test_user_add_reads_the_password_from_stdin(server, admin, tmp_path):
    admin.ok("user", "add", "piped", stdin="piped-pw\n")
    ulla = Cli(server.url, tmp_path / "piped")
    ulla.ok("login", "piped", stdin="piped-pw\n")


def test_user_add_twice_fails_with_the_servers_message(server, admin, admin_token):
    add_user(admin, "twice")
    status, message = server_error(server.url, "POST", "/api/v1/users", admin_token,
                                   {"id": "twice", "password": "x"})
    done = admin.run("user", "add", "twice", "--password", "x")
    assert status == 409
    assert done.returncode == 1
    assert done.stderr == f"presencectl: {message} (HTTP 409)\n"


# ---- status ----

def test_status_set_get_clear_in_human_and_json_output(admin):
    add_user(admin, "alice")
    before = datetime.now(timezone.utc)
    line = parse_line(admin.ok("status", "set", "Busy", "--note", "back at 3", "--until", "+2h",
                               "--user", "alice"))
    assert line["user"] == "alice" and line["availability"] == "Busy"
    assert line["note"] == "back at 3"
    until = datetime.fromisoformat(line["until"].replace("Z", "+00:00"))
    assert timedelta(hours=2) - timedelta(seconds=5) <= until - before <= timedelta(hours=2,
                                                                                    minutes=1)

    shown = parse_line(admin.ok("status", "get", "alice"))
    assert shown == line
    as_json = admin.json("status", "get", "alice")
    assert as_json["availability"] == "Busy" and as_json["note"] == "back at 3"
    assert as_json["sequence"] == line["sequence"]

    cleared = admin.json("status", "clear", "--user", "alice")
    assert cleared["availability"] != "Busy" and "note" not in cleared
    assert cleared["sequence"] > line["sequence"]
    assert parse_line(admin.ok("status", "get", "alice"))["availability"] == \
        cleared["availability"]


def test_status_set_without_user_changes_the_logged_in_user(server, admin, tmp_path):
    add_user(admin, "selma", password="selma-pw")
    selma = Cli(server.url, tmp_path / "selma")
    selma.ok("login", "selma", stdin="selma-pw\n")
    until = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    selma.ok("status", "set", "DoNotDisturb", "--until", until)
    presence = admin.json("status", "get", "selma")
    assert presence["availability"] == "DoNotDisturb"
    assert presence["until"].startswith(until[:19])
    selma.ok("status", "clear")
    assert admin.json("status", "get", "selma")["availability"] != "DoNotDisturb"


def test_errors_exit_1_with_the_servers_message(server, admin, admin_token, tmp_path):
    status, message = server_error(server.url, "GET", "/api/v1/users/nobody/presence",
                                   admin_token)
    done = admin.run("status", "get", "nobody")
    assert (status, done.returncode) == (404, 1)
    assert done.stderr == f"presencectl: {message} (HTTP 404)\n"

    done = admin.run("status", "set", "NoSuchState", "--user", "admin")
    assert done.returncode == 1 and done.stderr.endswith("(HTTP 400)\n")

    add_user(admin, "paula", password="paula-pw")
    add_user(admin, "peter")
    paula = Cli(server.url, tmp_path / "paula")
    paula.ok("login", "paula", "--password", "paula-pw")
    done = paula.run("status", "set", "Busy", "--user", "peter")
    assert done.returncode == 1 and done.stderr.endswith("(HTTP 403)\n")


def test_usage_errors_exit_2(admin):
    assert admin.run("status", "set").returncode == 2
    assert admin.run("status", "set", "Busy", "--until", "+5x").returncode == 2
    assert admin.run("no-such-command").returncode == 2
    assert admin.run("--server", "ftp://127.0.0.1", "status", "get", "admin").returncode == 2


def test_an_unreachable_server_exits_3(admin):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = admin.run("--server", f"http://127.0.0.1:{port}", "status", "get", "admin")
    assert done.returncode == 3
    assert done.stderr.startswith("presencectl: cannot connect")
    watch = admin.run("--server", f"http://127.0.0.1:{port}", "watch", "admin", "--count", "1")
    assert watch.returncode == 3


# ---- watch ----

def test_watch_prints_the_initial_state_and_a_change(admin):
    add_user(admin, "wanda")
    watcher = admin.popen("watch", "wanda", "--count", "2")
    try:
        first = parse_line(read_line(watcher))
        assert first["user"] == "wanda"
        admin.ok("status", "set", "Away", "--note", "lunch", "--user", "wanda")
        second = parse_line(read_line(watcher))
        assert second["availability"] == "Away" and second["note"] == "lunch"
        assert second["sequence"] > first["sequence"]
        assert watcher.wait(timeout=10) == 0
    finally:
        watcher.kill()
        watcher.wait()


def test_watch_json_prints_the_servers_events(admin):
    add_user(admin, "wilma")
    watcher = admin.popen("--json", "watch", "wilma", "--count", "1")
    out, err = watcher.communicate(timeout=10)
    assert watcher.returncode == 0, err
    event = json.loads(out)
    assert event["type"] == "presence" and event["user"] == "wilma"


def test_watch_ends_cleanly_on_sigint(admin):
    add_user(admin, "wendy")
    watcher = admin.popen("watch", "wendy")
    try:
        assert parse_line(read_line(watcher))["user"] == "wendy"
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=10) == 0
    finally:
        watcher.kill()
        watcher.wait()


def test_watch_of_an_unknown_user_exits_1(admin):
    done = admin.run("watch", "nobody", "--count", "1", timeout=15)
    assert done.returncode == 1 and "nobody" in done.stderr


def test_watch_with_a_bad_token_exits_1(admin):
    admin.env["PRESENCECTL_TOKEN"] = "not-a-token"
    done = admin.run("watch", "admin", "--count", "1")
    assert done.returncode == 1 and done.stderr.endswith("(HTTP 401)\n")


# ---- states, visibility, contacts, telephony, routing, API keys ----

def test_states_add_list_delete(admin):
    state = admin.json("states", "add", "lunch", "--type", "away", "--message", "At lunch")
    assert state["id"] == "lunch" and state["type"] == "away"
    assert "lunch" in [s["id"] for s in admin.json("states", "list")["states"]]
    assert "At lunch" in admin.ok("states", "list")
    add_user(admin, "stella")
    assert "(lunch)" in admin.ok("status", "set", "lunch", "--user", "stella")
    admin.ok("status", "clear", "--user", "stella")
    admin.ok("states", "delete", "lunch")
    assert "lunch" not in [s["id"] for s in admin.json("states", "list")["states"]]


def test_visibility_set_list_reset_and_policy(admin):
    add_user(admin, "vera")
    add_user(admin, "victor")
    admin.ok("visibility", "set", "vera", "victor", "blocked")
    levels = admin.json("visibility", "list", "vera")
    assert {"watcher": "victor", "level": "blocked"} in levels["watchers"]
    admin.ok("visibility", "reset", "vera", "victor")
    assert admin.json("visibility", "list", "vera")["watchers"] == []
    policy = admin.json("visibility", "policy")
    assert set(policy) >= {"default_level", "minimum"}
    assert admin.run("visibility", "set", "vera", "victor", "bogus").returncode == 2


def test_contacts_set_and_list(admin):
    for user in ("carl", "cora", "cid"):
        add_user(admin, user)
    admin.ok("contacts", "set", "carl", "cora", "cid")
    assert admin.ok("contacts", "list", "carl").split() == ["cora", "cid"]


def test_groups_add_list_delete(admin):
    admin.ok("groups", "add", "ops", "--name", "Operations")
    admin.ok("user", "add", "olga", "--password", "pw", "--group", "ops")
    groups = {g["id"]: g for g in admin.json("groups", "list")["groups"]}
    assert groups["ops"]["display_name"] == "Operations"
    assert groups["ops"]["members"] == ["olga"]
    assert re.search(r"^ops +Operations +olga$", admin.ok("groups", "list"), re.M)
    admin.ok("groups", "delete", "ops")
    assert "ops" not in [g["id"] for g in admin.json("groups", "list")["groups"]]


def test_global_options_may_follow_the_subcommand(admin):
    add_user(admin, "gina")
    assert json.loads(admin.ok("status", "get", "gina", "--json"))["user"] == "gina"


def test_call_events_change_presence_and_routing(admin):
    add_user(admin, "tom")
    assert "accepted" in admin.ok("call", "connected", "--user", "tom", "--device", "desk",
                                  "--call-id", "c1", "--direction", "outbound")
    presence = admin.json("status", "get", "tom")
    assert "call" in presence["flags"]
    decision = admin.json("route", "tom", "--caller", "+4989123")
    assert decision["action"] in ("ring", "forward", "voicemail", "busy")
    assert decision["reason"]
    assert "desk" in admin.ok("devices", "list", "tom").split()
    layers = admin.ok("status", "layers", "tom")
    assert re.search(r"^  call +c1 on desk \(connected, outbound\)$", layers, re.M), layers
    admin.ok("call", "ended", "--user", "tom", "--device", "desk", "--call-id", "c1")
    assert "call" not in admin.json("status", "get", "tom")["flags"]


def test_apikey_create_gives_a_working_token(server, admin, tmp_path):
    add_user(admin, "pbx", password="pbx-pw")
    admin.ok("user", "set", "pbx", "--role", "system")
    key = admin.json("apikey", "create", "pbx", "--label", "test", "--days", "2")
    pbx = Cli(server.url, tmp_path / "pbx", token=key["token"])
    assert pbx.json("status", "get", "pbx")["user"] == "pbx"


def test_watch_exits_3_when_the_server_goes_away(tmp_path):
    own = Presenced(tmp_path / "data")
    try:
        cli = Cli(own.url, tmp_path / "home")
        cli.ok("login", "admin", stdin=ADMIN_PASSWORD + "\n")
        watcher = cli.popen("watch", "admin")
        try:
            assert parse_line(read_line(watcher))["user"] == "admin"
            own.stop()
            assert watcher.wait(timeout=10) == 3
            assert "closed the connection" in watcher.stderr.read()
        finally:
            watcher.kill()
            watcher.wait()
    finally:
        own.stop()
