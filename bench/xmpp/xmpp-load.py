#!/usr/bin/env python3
"""Presence deliveries per second over the XMPP federation link, end to end: presenced (the
binary named by PRESENCED_BIN) connects as a component to this script, which stands in for the
XMPP server; SUBSCRIBERS remote JIDs subscribe to each of USERS users, then REST changes are
made as fast as THREADS clients can for SECONDS, and the presence stanzas arriving on the link
are counted (docs/benchmarks.md, "XMPP federation").

usage: xmpp-load.py [USERS] [SUBSCRIBERS] [SECONDS] [THREADS]"""

import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/integration"))
from presenced_fixture import ADMIN_PASSWORD, Client, Presenced  # noqa: E402

defaults = [20, 50, 10, 4]
users, subscribers, seconds, threads = [int(a) for a in sys.argv[1:]] + defaults[len(sys.argv) - 1:]

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
port = listener.getsockname()[1]
data = tempfile.mkdtemp()
server = Presenced(os.path.join(data, "data"), ["--domain", "uc.test", "--fast-sync",
                   "--xmpp-component", "127.0.0.1:%d" % port, "--xmpp-secret", "s",
                   "--xmpp-domain-level", "remote.test=team", "--xmpp-subscribe-burst", "1000000",
                   "--log-level", "info"])
link, _ = listener.accept()
link.recv(4096)
link.sendall(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
             b"xmlns='jabber:component:accept' id='x'>")
link.recv(4096)
link.sendall(b"<handshake/>")
admin = Client(server.url).login("admin", ADMIN_PASSWORD)
for u in range(users):
    admin.add_user("user%d" % u)
received = {"presence": 0}
counting = threading.Event()


def read():
    # The last 9 bytes cannot hold a whole "<presence " (10 bytes): nothing is counted twice.
    tail = b""
    while True:
        chunk = link.recv(1 << 20)
        if not chunk:
            return
        joined = tail + chunk
        if counting.is_set():
            received["presence"] += joined.count(b"<presence ")
        tail = joined[-9:]


threading.Thread(target=read, daemon=True).start()
stanzas = b"".join(b"<presence from='r%d@remote.test' to='user%d@uc.test' type='subscribe'/>" % (s, u)
                   for u in range(users) for s in range(subscribers))
link.sendall(stanzas)
time.sleep(3)
changes = [0]
stop = time.monotonic() + seconds


def change(worker):
    client = Client(server.url).login("admin", ADMIN_PASSWORD)
    n = 0
    while time.monotonic() < stop:
        state = ("Busy", "Away", "Available")[n % 3]
        client.put("/api/v1/users/user%d/presence/manual" % ((worker + n * threads) % users),
                   {"state": state, "note": "n%d" % n})
        n += 1
    changes[0] += n


counting.set()
started = time.monotonic()
workers = [threading.Thread(target=change, args=(w,)) for w in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
time.sleep(0.5)
elapsed = time.monotonic() - started
print("users %d, subscribers per user %d, %d changes in %.1f s (%.0f/s), %d presence stanzas "
      "(%.0f/s)" % (users, subscribers, changes[0], elapsed, changes[0] / elapsed,
                    received["presence"], received["presence"] / elapsed))
server.kill()
