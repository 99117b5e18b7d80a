#!/usr/bin/python3
"""Teams -> presenced -> WebSocket watcher: the latency presenced adds to a Teams change, against
the Graph emulator (docs/benchmarks.md, "Teams").

  teams_latency.py PRESENCED_BIN [--samples N] [--latency SPEC] [--users N]

A change is made in the emulator as the Teams client would; the time is taken from the moment
the emulator posts the change notification (after its injected latency: what Graph's delivery
adds) to the watcher receiving the presence event with the new external.teams ("added"), and
also from before the control call ("total", which adds the injected latency and the emulator's
own time). Both clocks are the machine's wall clock.
With --latency fixed:0 the changes go one after another, each waiting for its event; with a
Graph-like latency (e.g. lognormal:2.5,0.55,60) every user changes at once and each user's event
is timed.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from graph_emulator_process import CLIENT_ID, CLIENT_SECRET, TENANT, GraphEmulator  # noqa: E402
import presenced_fixture  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("presenced")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--latency", default="fixed:0")
    args = parser.parse_args()
    presenced_fixture.PRESENCED = args.presenced

    graph = GraphEmulator("--inactive-after", "86400", "--away-after", "86400",
                          "--notification-latency", args.latency, "--seed", "7")
    work = tempfile.mkdtemp()
    config = {"tenants": [{"name": TENANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                           "graph_url": graph.url + "/v1.0", "token_url": graph.token_url}],
              "client_state": "bench-client-state-0123456789", "poll_interval_s": 86400}
    path = os.path.join(work, "teams.json")
    with open(path, "w") as f:
        json.dump(config, f)
    server = presenced_fixture.Presenced(os.path.join(work, "data"), ["--teams-config", path])
    try:
        admin = presenced_fixture.Client(server.url).login("admin", presenced_fixture.ADMIN_PASSWORD)
        users = []
        for i in range(args.users):
            user, _ = presenced_fixture.new_user(admin, prefix="t")
            graph_id = graph.add_user(f"{user}@contoso.com")
            graph.teams_client(graph_id, "Available", "Available")
            admin.put(f"/api/v1/users/{user}/teams", {"upn": f"{user}@contoso.com", "tenant": TENANT})
            users.append((user, graph_id))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            covered = {i for s in graph.control("GET", "subscriptions")["value"] for i in s["ids"]}
            if all(g in covered for _, g in users):
                break
            time.sleep(0.1)
        watcher = presenced_fixture.Watcher(server, admin.token)
        watcher.subscribe(*[u for u, _ in users])
        presenced_fixture.drain(watcher, 1.0)
        pairs = [("Busy", "InACall"), ("Available", "Available")]
        samples = []  # (user, wall-clock arrival, total ms)
        if args.latency == "fixed:0":
            for n in range(args.samples):
                user, graph_id = users[n % len(users)]
                availability, activity = pairs[(n // len(users)) % 2]
                want = {"availability": availability, "activity": activity}
                start = time.time()
                graph.teams_client(graph_id, availability, activity)
                watcher.wait_for(lambda m: m.get("user") == user and
                                 m.get("external", {}).get("teams") == want, timeout=10)
                arrived = time.time()
                samples.append((graph_id, arrived, (arrived - start) * 1000))
        else:
            rounds = max(1, args.samples // len(users))
            for r in range(rounds):
                availability, activity = pairs[r % 2]
                want = {"availability": availability, "activity": activity}
                started = {}
                ids = dict(users)
                for user, graph_id in users:
                    started[user] = time.time()
                    graph.teams_client(graph_id, availability, activity)
                pending = set(started)
                end = time.monotonic() + 90
                while pending and time.monotonic() < end:
                    try:
                        m = watcher.receive(timeout=1)
                    except TimeoutError:
                        continue
                    if m.get("user") in pending and m.get("external", {}).get("teams") == want:
                        arrived = time.time()
                        samples.append((ids[m["user"]], arrived,
                                        (arrived - started[m["user"]]) * 1000))
                        pending.discard(m["user"])
        sent = graph.control("GET", "notifications")["value"]
        added = []
        for graph_id, arrived, _ in samples:
            posted = [n["sent"] for n in sent if n["id"] == graph_id and n["sent"] <= arrived]
            if posted:
                added.append((arrived - max(posted)) * 1000)
        for name, values in (("added", added), ("total", [s[2] for s in samples])):
            print(f"latency {args.latency} {name}: {len(values)} samples, "
                  f"p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
                  f"p99 {percentile(values, 99):.1f} ms, max {max(values):.1f} ms, "
                  f"mean {statistics.mean(values):.1f} ms")
        stats = graph.stats()
        print(f"graph requests {stats['requests']}, throttled {stats['throttled']}, "
              f"notifications {stats['notifications']}")
    finally:
        server.kill()
        graph.stop()


if __name__ == "__main__":
    main()
