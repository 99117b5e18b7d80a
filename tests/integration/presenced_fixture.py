"""A real presenced in a child process on 127.0.0.1, and small HTTP/WebSocket clients for it.

Tests use it through the fixtures in conftest.py. Nothing here fakes the server: every call goes
over loopback to the binary named by PRESENCED_BIN.
"""

import itertools
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import requests
import websocket

PRESENCED = os.environ.get("PRESENCED_BIN", "presenced")
ADMIN_PASSWORD = "secret"


class Presenced:
    """presenced in a child process; its log is drained by a thread so it never blocks."""

    def __init__(self, data_dir, extra_args=(), env=None, admin_password=ADMIN_PASSWORD):
        self.data_dir = str(data_dir)
        self.extra_args = list(extra_args)
        self.env = dict(os.environ if env is None else env)
        if admin_password is not None:
            self.env["PRESENCED_ADMIN_PASSWORD"] = admin_password
        self.log = []
        self.process = None
        self.url = None
        self.start()

    def start(self, timeout=15):
        self.log = []
        self.process = subprocess.Popen(
            [PRESENCED, "--data-dir", self.data_dir, "--http", "127.0.0.1:0", *self.extra_args],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = queue.Queue()

        def drain(process=self.process):
            for line in process.stdout:
                self.log.append(line)
                lines.put(line)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if match:
                self.url = match.group(1)
                return
        self.kill()
        raise RuntimeError("presenced did not report listening:\n" + "".join(self.log))

    @property
    def ws_url(self):
        return "ws" + self.url[len("http"):] + "/api/v1/ws"

    def stop(self, timeout=5):
        """SIGTERM, as an operator would; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.process.returncode

    def kill(self):
        """SIGKILL: no chance to flush or close anything."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def restart(self):
        self.stop()
        self.start()


class Client:
    """JSON over HTTP with one user's token. Methods return the requests.Response."""

    def __init__(self, url, token=None):
        self.url = url
        self.token = token
        self.http = requests.Session()

    def headers(self):
        return {"Authorization": "Bearer " + self.token} if self.token else {}

    def request(self, method, path, body=None, raw=None, headers=None, **kwargs):
        all_headers = self.headers()
        all_headers.update(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body)
            all_headers.setdefault("Content-Type", "application/json")
        return self.http.request(method, self.url + path, data=data, headers=all_headers,
                                 timeout=10, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def login(self, username, password):
        answer = self.post("/api/v1/auth/token", {"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["token"]
        return self

    def as_user(self, username, password):
        """A new client logged in as another user on the same server."""
        return Client(self.url).login(username, password)

    def add_user(self, user_id, password="pw-" + "x" * 8, role="user", **fields):
        body = {"id": user_id, "display_name": fields.pop("display_name", user_id.title()),
                "password": password, "role": role, **fields}
        answer = self.post("/api/v1/users", body)
        assert answer.status_code == 201, answer.text
        return answer


def assert_error(answer, status, code=None):
    """The contract's error shape: the status and {"error": {"code", "message"}}."""
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.headers
    error = answer.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


class Watcher:
    """A WebSocket client; received messages are decoded and kept in arrival order."""

    def __init__(self, server, token, query_token=False):
        url = server.ws_url
        headers = []
        if query_token:
            url += "?access_token=" + token
        else:
            headers = ["Authorization: Bearer " + token]
        self.socket = websocket.create_connection(url, header=headers, timeout=10)
        self.pending = []

    def send(self, message):
        self.socket.send(message if isinstance(message, str) else json.dumps(message))

    def subscribe(self, *users):
        self.send({"op": "subscribe", "users": list(users)})

    def unsubscribe(self, *users):
        self.send({"op": "unsubscribe", "users": list(users)})

    def receive(self, timeout=5):
        """The next message, decoded; raises TimeoutError if none comes in time."""
        if self.pending:
            return self.pending.pop(0)
        self.socket.settimeout(timeout)
        try:
            return json.loads(self.socket.recv())
        except websocket.WebSocketTimeoutException as exc:
            raise TimeoutError("no WebSocket message within %ss" % timeout) from exc

    def wait_for(self, predicate, timeout=5):
        """The first message that satisfies predicate; earlier ones are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching WebSocket message within %ss" % timeout)
            message = self.receive(timeout=left)
            if predicate(message):
                return message

    def presence_of(self, user, timeout=5, **expected):
        """The next presence event of user whose fields equal expected."""
        return self.wait_for(
            lambda m: m.get("type") == "presence" and m.get("user") == user
            and all(m.get(k) == v for k, v in expected.items()), timeout)

    def silent_for(self, seconds):
        """True if nothing arrives within seconds."""
        try:
            message = self.receive(timeout=seconds)
        except TimeoutError:
            return True
        self.pending.insert(0, message)
        return False

    def close(self):
        self.socket.close()


# ---- Helpers shared by the test modules ----

USER_PASSWORD = "pw-test-user-1"
user_ids = itertools.count(1)


def bearer(admin, user_id):
    """A client for user_id holding an API key: a bearer token like a login's, made without a
    password hash so tests stay fast (logins are tested on their own)."""
    answer = admin.post("/api/v1/apikeys", {"user": user_id, "label": "tests", "days": 1})
    assert answer.status_code == 201, answer.text
    return Client(admin.url, answer.json()["token"])


def new_user(admin, role="user", prefix="u", **fields):
    """Creates a user with a fresh id (password USER_PASSWORD); returns (id, a Client for them)."""
    user_id = "%s%d" % (prefix, next(user_ids))
    admin.add_user(user_id, password=USER_PASSWORD, role=role, **fields)
    return user_id, bearer(admin, user_id)


def rfc3339(moment):
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def from_now(seconds):
    return rfc3339(datetime.now(timezone.utc) + timedelta(seconds=seconds))


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def poll(read, accept, timeout=2.0, interval=0.05):
    """Calls read() until accept(value) holds or timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if accept(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def drain(ws, seconds):
    """Every message that arrives on a Watcher within seconds."""
    messages = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            messages.append(ws.receive(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            break
    return messages
