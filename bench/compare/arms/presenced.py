"""presenced over WebSocket and over SIP: the same server, two generators.

memory: the embedded SQLite store on tmpfs (/dev/shm) with --fast-sync (synchronous=NORMAL).
presenced has no store-less mode; on tmpfs no commit waits for a disk, but every change still
goes through SQLite, so this mode is "nothing waits for a disk", not "nothing is written".
durable: the default, SQLite WAL on the disk with synchronous=FULL; a change is answered only
after its commit (group commit).
"""

import concurrent.futures
import http.client
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .base import Arm
from .process import free_port, free_port_both, start_pinned, stop_group, wait_tcp

DOMAIN = "compare.test"


class _Rest:
    """A keep-alive HTTP client of presenced's API, one per thread."""

    def __init__(self, port, token=None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        self.connection.request(method, path, body=json.dumps(body) if body is not None else None,
                                headers=headers)
        answer = self.connection.getresponse()
        text = answer.read()
        return answer.status, json.loads(text) if text else None


class _Presenced(Arm):
    generator = ""

    def __init__(self, mode, workdir, repo, build):
        super().__init__(mode, workdir, repo, build)
        self.process = None
        self.http_port = None
        self.sip_port = None
        self.data_dir = None

    def _binary(self):
        return Path(self.build) / "src" / "app" / "presenced"

    def _tools(self):
        return [self._binary(), Path(self.build) / "bench" / "load" / "make-store",
                Path(self.build) / "bench" / "load" / self.generator]

    def available(self):
        missing = [str(tool) for tool in self._tools() if not os.access(tool, os.X_OK)]
        return f"not built: {', '.join(missing)}" if missing else None

    def prepare(self, dataset):
        workdir = Path(self.workdir)
        if self.mode == "memory":
            self.data_dir = Path(tempfile.mkdtemp(prefix="presenced-compare-", dir="/dev/shm"))
        else:
            self.data_dir = workdir / "data"
            self.data_dir.mkdir(parents=True, exist_ok=True)
        ids = workdir / "ids.txt"
        ids.write_text("\n".join(dataset["users"] + dataset["consoles"]) + "\n")
        subprocess.run([str(Path(self.build) / "bench" / "load" / "make-store"),
                        "--data-dir", str(self.data_dir), "--admin-password", dataset["password"],
                        "--sip-password", dataset["password"], "--ids", str(ids)],
                       check=True, stdout=subprocess.DEVNULL)
        self.password = dataset["password"]

    def start(self):
        self.http_port = free_port()
        self.sip_port = free_port_both()
        command = [str(self._binary()), "--data-dir", str(self.data_dir),
                   "--http", f"127.0.0.1:{self.http_port}", "--sip", f"127.0.0.1:{self.sip_port}",
                   "--domain", DOMAIN, "--log-level", "warn",
                   "--sip-max-subscriptions", "10000000", "--sip-max-connections", "1000000"]
        if self.mode == "memory":
            command.append("--fast-sync")
        self.process = start_pinned(command, Path(self.workdir) / "presenced.log")
        wait_tcp(self.http_port, self.process)

    def _admin(self):
        rest = _Rest(self.http_port)
        status, body = rest.call("POST", "/api/v1/auth/token",
                                 {"username": "admin", "password": self.password})
        if status != 200:
            raise RuntimeError(f"admin login: HTTP {status}")
        return body["token"]

    def _parallel(self, token, calls, threads=8):
        """Runs (method, path, body, expected statuses) calls over `threads` connections;
        returns the answers' bodies in order."""
        def run(chunk):
            rest = _Rest(self.http_port, token)
            out = []
            for method, path, body, ok in chunk:
                status, answer = rest.call(method, path, body)
                if status not in ok:
                    raise RuntimeError(f"{method} {path}: HTTP {status} {answer}")
                out.append(answer)
            return out
        chunks = [calls[i::threads] for i in range(threads)]
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(run, chunks))
        ordered = [None] * len(calls)
        for t, result in enumerate(results):
            for k, answer in enumerate(result):
                ordered[t + k * threads] = answer
        return ordered

    def provision(self, dataset):
        """Denied pairs: the presentity sets the watcher's visibility to blocked."""
        token = self._admin()
        self._parallel(token, [
            ("PUT", f"/api/v1/users/{presentity}/visibility/{watcher}", {"level": "blocked"},
             (200,)) for watcher, presentity in dataset["denied"]])
        return token

    def pids(self):
        return [self.process.pid] if self.process and self.process.poll() is None else []

    def generator_command(self):
        return [str(Path(self.build) / "bench" / "load" / self.generator)]

    def settings(self):
        store = ("SQLite on tmpfs (/dev/shm), --fast-sync (synchronous=NORMAL)"
                 if self.mode == "memory" else
                 "SQLite WAL on disk, synchronous=FULL, answer after commit (default)")
        return [store, "--log-level warn",
                "--sip-max-subscriptions 10000000, --sip-max-connections 1000000 (limits lifted)",
                "denied pairs: PUT /api/v1/users/{presentity}/visibility/{watcher} blocked"]

    def stop(self):
        stop_group(self.process)
        if self.mode == "memory" and self.data_dir and str(self.data_dir).startswith("/dev/shm/"):
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def coalesces(self):
        # A watcher's queue past 256 entries keeps only the newest state per presentity.
        return True


class PresencedWs(_Presenced):
    name = "presenced-ws"
    protocol = "ws"
    generator = "compare-ws"

    def provision(self, dataset):
        token = super().provision(dataset)
        accounts = dataset["users"] + dataset["consoles"]
        keys = self._parallel(token, [
            ("POST", "/api/v1/apikeys", {"user": account, "label": "compare", "days": 1}, (201,))
            for account in accounts])
        self.tokens = Path(self.workdir) / "tokens.json"
        self.tokens.write_text(json.dumps(
            {account: key["token"] for account, key in zip(accounts, keys)}))

    def endpoint(self):
        return {"http": f"127.0.0.1:{self.http_port}", "tokens": str(self.tokens)}

    def settings(self):
        return super().settings() + [
            "watchers authenticate with an API key each (made before the run), "
            "publishes are PUT .../presence/manual with the user's own key"]


class PresencedSip(_Presenced):
    name = "presenced-sip"
    protocol = "sip"
    generator = "compare-sip"

    def endpoint(self):
        return {"sip": f"127.0.0.1:{self.sip_port}", "domain": DOMAIN}

    def settings(self):
        return super().settings() + [
            "SIP over UDP, digest MD5 (qop=auth) on every SUBSCRIBE and PUBLISH, nonce reused "
            "with a growing nc"]
