"""NATS 2.9 (Debian nats-server) as a "dumb router": the upper bound, not a competitor.

A subject per presentity (presence.<user>); each watcher subscribes to the subjects of the
presentities it may see, one subscription per watch relation. NATS has no authorisation here,
so denied pairs are left unsubscribed (the gate then checks that nothing arrives on them
trivially), and nothing merges or remembers a state: a watcher that logs in receives nothing
until the next publish.

memory: core NATS, a publish is accepted once written to the connection.
durable: JetStream with file storage; the generator publishes with a reply subject and counts a
publish as accepted when the stream's acknowledgement arrives (the message is in the file
store). The stream keeps one message per subject (the last state of each presentity).
"""

import json
import os
import shutil
import socket
from pathlib import Path

from ._peer import PeerArm
from .process import free_port, start_pinned, wait_tcp

NATS = "/usr/sbin/nats-server"
PREFIX = "presence."
STREAM = "PRESENCE"

# Each line with its reason (https://docs.nats.io/running-a-nats-service/configuration,
# .../configuration/resource_management, .../nats_admin/slow_consumers).
SETTINGS = [
    "nats-server 2.9 (Debian), taskset -c 0, GOMAXPROCS=1 (one core, as the Go runtime "
    "would take from the affinity mask anyway)",
    "listen on 127.0.0.1 only; no TLS, no authorisation (an upper bound: no ACL, no merge)",
    "max_connections 1,000,000 (default 64K): the connection count must not be the limit",
    "max_pending 64 MB and write_deadline 10 s: the defaults; a slow consumer past them is "
    "disconnected, which the generator reports as an error",
    "logging: no debug, no trace (the defaults)",
    "client side: one connection per account, echo off, verbose and pedantic off",
]


class Nats(PeerArm):
    name = "nats"
    protocol = "nats"
    generator = "compare-nats"
    logs = ("nats.log",)

    def missing(self):
        if not os.access(NATS, os.X_OK):
            return "nats-server is not installed (Debian package nats-server)"
        return None

    def prepare(self, dataset):
        work = Path(self.workdir)
        store = work / "jetstream"
        if store.exists():
            shutil.rmtree(store)
        self.port = free_port()
        config = [f"listen: 127.0.0.1:{self.port}", "max_connections: 1000000",
                  "max_pending: 67108864", 'write_deadline: "10s"']
        if self.mode == "durable":
            config.append(f'jetstream {{ store_dir: "{store}", max_memory_store: 0, '
                          'max_file_store: 4294967296 }')
        (work / "nats.conf").write_text("\n".join(config) + "\n")

    def start(self):
        work = Path(self.workdir)
        env = dict(os.environ, GOMAXPROCS="1")
        self.process = start_pinned([NATS, "-c", str(work / "nats.conf")], work / "nats.log",
                                    env=env)
        try:
            wait_tcp(self.port, self.process)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"nats-server did not start: {e}\n{self.log_tail()}") from e

    def provision(self, dataset):
        """Durable mode: the stream that stores and acknowledges every presence subject."""
        if self.mode != "durable":
            return
        config = {"name": STREAM, "subjects": [PREFIX + ">"], "storage": "file",
                  "retention": "limits", "max_msgs_per_subject": 1, "discard": "old",
                  "num_replicas": 1}
        answer = self._request(f"$JS.API.STREAM.CREATE.{STREAM}", json.dumps(config))
        if "error" in answer:
            raise RuntimeError(f"JetStream stream not created: {answer['error']}")

    def _request(self, subject, payload, timeout=10):
        """One request over the NATS client protocol; returns the JSON answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            reader = sock.makefile("rb")
            reader.readline()  # INFO
            body = payload.encode()
            sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n'
                         b"SUB _INBOX.setup 1\r\n" +
                         f"PUB {subject} _INBOX.setup {len(body)}\r\n".encode() + body + b"\r\n")
            while True:
                line = reader.readline()
                if not line:
                    raise RuntimeError("nats-server closed the connection")
                if line.startswith(b"PING"):
                    sock.sendall(b"PONG\r\n")
                elif line.startswith(b"-ERR"):
                    raise RuntimeError(line.decode().strip())
                elif line.startswith(b"MSG "):
                    size = int(line.split()[-1])
                    return json.loads(reader.read(size + 2)[:size])

    def endpoint(self):
        return {**super().endpoint(), "subject_prefix": PREFIX, "jetstream": self.mode == "durable"}

    def settings(self):
        if self.mode == "memory":
            mode = ["core NATS: no storage; a publish counts as accepted once written"]
        else:
            mode = ["JetStream, file storage (store_dir in the work directory), one stream "
                    f"'{STREAM}' on {PREFIX}>, max_msgs_per_subject 1 (the last state per "
                    "presentity), one replica",
                    "publishes carry a reply subject; accepted = the stream's ack (stored in the "
                    "file store; JetStream 2.9 leaves fsync to its own interval, not per message)"]
        return SETTINGS + mode + ["denied pairs: not subscribed (NATS has no ACL in this arm)"]
