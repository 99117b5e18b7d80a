#!/usr/bin/python3
"""Cluster figures for docs/benchmarks.md, on one host (so overhead, not scaling):

  throughput  manual-state changes/s acknowledged with 1, 2 and 3 nodes (writers spread over them)
  latency     PUT on node A until a WebSocket watcher on node B has the event: p50, p99
  catch-up    a node starting against a bucket holding the manual layer of N users

PRESENCED_BIN names the binary; PostgreSQL and NATS are started with the tests' scripts.
"""

import argparse
import concurrent.futures
import pathlib
import statistics
import sys
import tempfile
import threading
import time
import functools

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests" / "integration"))

from postgres_server import PostgresServer  # noqa: E402
from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, Watcher, bearer  # noqa: E402
from test_cluster import Nats, postgres_url  # noqa: E402


class SlowStart(Presenced):
    """A node that may take long to catch up before it listens."""

    def start(self, timeout=300):
        super().start(timeout)


def start_node(root, name, address, extra=()):
    return SlowStart(root / name, ["--cluster", address, "--node-id", name, *extra])


def throughput(nodes, token, users, seconds, writers_per_node):
    done = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def write(node, offset):
        client = Client(node.url, token)
        count = 0
        while time.monotonic() < stop:
            user = users[(offset + count * 7) % len(users)]
            answer = client.put("/api/v1/users/%s/presence/manual" % user,
                                {"state": ["Busy", "Away"][count % 2], "note": str(count)})
            assert answer.status_code == 200, answer.text
            count += 1
        with lock:
            done[0] += count

    threads = [threading.Thread(target=write, args=(node, i * 13 + j))
               for i, node in enumerate(nodes) for j in range(writers_per_node)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / seconds


def latency(a, b, token, user, samples):
    ws = Watcher(b, token)
    ws.subscribe(user)
    ws.presence_of(user)
    client = Client(a.url, token)
    out = []
    for i in range(samples):
        note = "lat-%d" % i
        started = time.perf_counter()
        answer = client.put("/api/v1/users/%s/presence/manual" % user,
                            {"state": "Busy", "note": note})
        assert answer.status_code == 200
        ws.presence_of(user, timeout=5, note=note)
        out.append((time.perf_counter() - started) * 1000)
    ws.close()
    return out


print = functools.partial(print, flush=True)  # noqa: A001 - progress shows as it comes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000, help="users for the catch-up")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--writers-per-node", type=int, default=4)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()

    root = pathlib.Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    postgres = PostgresServer()
    nats = Nats()
    nodes = []
    try:
        database = postgres.new_database()
        address = "%s,%s" % (nats.url, postgres_url(database))
        first = start_node(root, "a", address)
        admin = Client(first.url).login("admin", ADMIN_PASSWORD)
        token = bearer(admin, "admin").token
        answer = admin.put("/api/v1/visibility/policy",
                           {"default_level": "personal", "minimum": "blocked"})
        assert answer.status_code == 200, answer.text
        first.stop()
        # The catch-up users go straight into PostgreSQL: creating them through the API would
        # hash a password each.
        name = database.split("dbname=")[1]
        postgres.psql(
            "INSERT INTO users SELECT 'c' || lpad(i::text, 6, '0'), 'C' || i, 0, '', '', 5, '',"
            " '', false FROM generate_series(0, %d) AS i" % (args.users - 1), database=name)
        users = ["c%06d" % i for i in range(args.users)]
        nodes = [start_node(root, n, address) for n in "abc"]
        print("node start with %d users: see the log lines" % args.users)

        alone = SlowStart(root / "alone", ["--postgres", database])
        rate = throughput([alone], token, users[:1000], args.seconds, args.writers_per_node)
        alone.kill()
        print("throughput without --cluster (--postgres), %d writers: %.0f changes/s"
              % (args.writers_per_node, rate))
        for count in (1, 2, 3):
            rate = throughput(nodes[:count], token, users[:1000], args.seconds,
                              args.writers_per_node)
            print("throughput %d node(s), %d writers: %.0f changes/s"
                  % (count, count * args.writers_per_node, rate))

        same = latency(nodes[0], nodes[0], token, users[0], args.samples)
        cross = latency(nodes[0], nodes[1], token, users[1], args.samples)
        for label, values in (("same node", same), ("cross node", cross)):
            values.sort()
            print("latency %s: p50 %.2f ms, p99 %.2f ms" % (
                label, statistics.median(values), values[int(len(values) * 0.99) - 1]))

        # Every user's manual layer into the bucket, through node A.
        started = time.monotonic()
        client_pool = concurrent.futures.ThreadPoolExecutor(16)
        clients = threading.local()

        def put(user):
            if not hasattr(clients, "c"):
                clients.c = Client(nodes[0].url, token)
            answer = clients.c.put("/api/v1/users/%s/presence/manual" % user,
                                   {"state": "Away", "note": "catch-up"})
            assert answer.status_code == 200, answer.text

        list(client_pool.map(put, users))
        print("wrote %d manual layers in %.1f s" % (len(users), time.monotonic() - started))
        started = time.monotonic()
        late = start_node(root, "catchup", address)
        nodes.append(late)
        total = time.monotonic() - started
        line = next(line for line in late.log if "caught up" in line)
        print("catch-up: %s; start to listening %.1f s" % (line.strip(), total))
    finally:
        for node in nodes:
            node.kill()
        nats.stop()
        postgres.stop()


if __name__ == "__main__":
    main()
