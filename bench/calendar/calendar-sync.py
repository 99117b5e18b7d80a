#!/usr/bin/python3
"""Full calendar sync of many users over HTTP (docs/benchmarks.md, "Calendar sync over HTTP").

Writes N users with make-store, serves each an ICS calendar from a small HTTP server in this
process (ETag, 304 on If-None-Match, an optional delay per answer to stand for a distant
server), gives every user that URL as calendar source, then restarts presenced (pinned to core
0) and measures:
  - the first full sync after start: wall time, presenced CPU seconds, peak RSS;
  - the re-sync one interval later, nothing changed (all 304): its span and CPU seconds;
  - from a calendar changed on the server to the presence showing it, for a few users.
This process (the ICS server and the pollers) runs on core 1.

  bench/calendar/calendar-sync.py --presenced build/me/src/app/presenced \\
      --make-store build/me/bench/load/make-store --users 10000
"""

import argparse
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

ADMIN_PASSWORD = "bench-admin"
CHANGED = "Changed on the server"


def load_average():
    return os.getloadavg()[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- Calendars ----

VTIMEZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n")


def local(day, hour, minute=0):
    """Europe/Berlin wall time on a day relative to this week's Monday."""
    today = datetime.now(timezone.utc).date()
    monday = today - timedelta(days=today.weekday())
    d = monday + timedelta(days=day)
    return "%04d%02d%02dT%02d%02d00" % (d.year, d.month, d.day, hour, minute)


def utc(moment):
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def user_calendar(user, extra_event=""):
    """The working calendar of bench_calendar, moved to the current week: a daily standup a
    year old (one moved, one excluded instance), three weekly series, 15 single meetings, a
    private appointment and a vacation day, in Europe/Berlin."""
    out = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n", VTIMEZONE]

    def event(uid, start, end, extra=""):
        out.append("BEGIN:VEVENT\r\nUID:%s-%d@example.com\r\nDTSTAMP:20260201T000000Z\r\n"
                   "DTSTART;TZID=Europe/Berlin:%s\r\nDTEND;TZID=Europe/Berlin:%s\r\n"
                   "SUMMARY:Meeting %s of user %d\r\nLOCATION:Room %d\r\n%sEND:VEVENT\r\n"
                   % (uid, user, start, end, uid, user, user % 40, extra))

    event("standup", local(-365, 9), local(-365, 9, 15),
          "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\r\nEXDATE;TZID=Europe/Berlin:%s\r\n"
          % local(2, 9))
    out.append("BEGIN:VEVENT\r\nUID:standup-%d@example.com\r\nDTSTAMP:20260201T000000Z\r\n"
               "RECURRENCE-ID;TZID=Europe/Berlin:%s\r\nDTSTART;TZID=Europe/Berlin:%s\r\n"
               "DTEND;TZID=Europe/Berlin:%s\r\nSUMMARY:Standup (moved)\r\nEND:VEVENT\r\n"
               % (user, local(1, 9), local(1, 14), local(1, 14, 15)))
    for w in range(3):
        event("weekly%d" % w, local(-7 * (10 + w) + w, 11 + w), local(-7 * (10 + w) + w, 12 + w),
              "RRULE:FREQ=WEEKLY\r\n")
    for m in range(15):
        event("single%d" % m, local(m % 5, 13 + m % 4), local(m % 5, 14 + m % 4),
              "STATUS:TENTATIVE\r\n" if m % 7 == 0 else "")
    event("private", local(3, 16), local(3, 17), "CLASS:PRIVATE\r\n")
    out.append("BEGIN:VEVENT\r\nUID:vacation-%d@example.com\r\nDTSTAMP:20260201T000000Z\r\n"
               "DTSTART;VALUE=DATE:%s\r\nSUMMARY:Vacation\r\n"
               "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nEND:VEVENT\r\n" % (user, local(4, 0)[:8]))
    out.append(extra_event)
    out.append("END:VCALENDAR\r\n")
    return "".join(out).encode()


def changed_event(user):
    """A busy meeting running now, so the presence shows it as soon as it is synced."""
    now = datetime.now(timezone.utc)
    return ("BEGIN:VEVENT\r\nUID:changed-%d@example.com\r\nDTSTAMP:%s\r\nDTSTART:%s\r\n"
            "DTEND:%s\r\nSUMMARY:%s\r\nEND:VEVENT\r\n"
            % (user, utc(now), utc(now - timedelta(minutes=1)), utc(now + timedelta(hours=1)),
               CHANGED))


# ---- The ICS server ----

class IcsServer:
    """GET /cal/N.ics: user N's calendar with a strong ETag; 304 when If-None-Match matches."""

    def __init__(self, users, delay_s):
        self.calendars = {}  # user -> (etag, body)
        self.version = {}
        for user in range(users):
            self.set(user, user_calendar(user))
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self.answers = []  # (monotonic time, status)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else the body waits for the headers' delayed ACK

            def do_GET(self):
                if server.delay_s:
                    time.sleep(server.delay_s)
                try:
                    user = int(self.path.removeprefix("/cal/").removesuffix(".ics"))
                    etag, body = server.calendars[user]
                except (ValueError, KeyError):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 304 if self.headers.get("If-None-Match") == etag else 200
                with server.lock:
                    server.answers.append((time.monotonic(), status))
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", "0" if status == 304 else str(len(body)))
                self.end_headers()
                if status == 200:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def set(self, user, body):
        self.version[user] = self.version.get(user, 0) + 1
        self.calendars[user] = ('"%d-%d"' % (user, self.version[user]), body)

    def span(self, status, since):
        """Count, first and last time of the answers with this status after `since`."""
        with self.lock:
            times = [t for t, s in self.answers if s == status and t >= since]
        return len(times), (min(times) if times else None), (max(times) if times else None)


# ---- presenced ----

def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Presenced:
    def __init__(self, binary, data_dir, port, extra):
        self.url = "http://127.0.0.1:%d" % port
        self.log = open(os.path.join(data_dir, "presenced.log"), "ab")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            ["taskset", "-c", "0", binary, "--data-dir", data_dir, "--http",
             "127.0.0.1:%d" % port, "--log-level", "warn", *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.02)
        else:
            raise SystemExit("presenced did not start")
        self.listening_s = time.monotonic() - self.started
        self.session = requests.Session()
        answer = self.session.post(self.url + "/api/v1/auth/token",
                                   json={"username": "admin", "password": ADMIN_PASSWORD})
        answer.raise_for_status()
        self.token = answer.json()["token"]
        self.session.headers["Authorization"] = "Bearer " + self.token

    def metrics(self):
        out = {}
        for line in self.session.get(self.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith("presenced_calendar_") and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def syncs(self, result):
        return self.metrics().get('presenced_calendar_syncs_total{result="%s"}' % result, 0)

    def errors(self):
        return sum(v for k, v in self.metrics().items()
                   if k.startswith("presenced_calendar_errors_total"))

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def wait_until(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def user_id(i):
    return "cal%05d" % i


def set_sources(server, ics, users, threads=4):
    def put(range_):
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + server.token
        for i in range_:
            answer = session.put(server.url + "/api/v1/users/%s/calendar/source" % user_id(i),
                                 json={"mode": "ics", "url": "%s/cal/%d.ics" % (ics.url, i)})
            answer.raise_for_status()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, [range(t, users, threads) for t in range(threads)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presenced", required=True)
    parser.add_argument("--make-store", required=True)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--workers", type=int, help="--calendar-sync-workers (default: its own)")
    parser.add_argument("--interval", type=int, default=60, help="--calendar-sync-interval")
    parser.add_argument("--delay-ms", type=float, default=0, help="added to every ICS answer")
    parser.add_argument("--samples", type=int, default=5, help="users changed on the server")
    parser.add_argument("--first-sync-only", action="store_true")
    parser.add_argument("--data-dir", help="default: a new temporary directory")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="calendar-sync-")
    port = free_port()
    extra = ["--calendar-sync-interval", str(args.interval)]
    if args.workers:
        extra += ["--calendar-sync-workers", str(args.workers)]
    result = {"users": args.users, "workers": args.workers, "interval_s": args.interval,
              "delay_ms": args.delay_ms}

    subprocess.run([args.make_store, "--data-dir", data_dir, "--admin-password", ADMIN_PASSWORD,
                    "--users", str(args.users), "--user-prefix", "cal", "--contacts", "20"],
                   check=True, stdout=subprocess.DEVNULL)
    ics = IcsServer(args.users, args.delay_ms / 1000)
    result["ics_bytes"] = len(ics.calendars[0][1])

    # Set-up run: the sources go in over the API (each is synced at once), without an fsync per
    # request: four clients waiting for their own commits would make this the slowest part.
    server = Presenced(args.presenced, data_dir, port, extra + ["--fast-sync"])
    result["rss_listening_without_sources_kib"] = proc_status_kib(server.pid, "VmRSS")
    set_sources(server, ics, args.users)
    print("sources set", file=sys.stderr)
    wait_until(lambda: server.syncs("changed_or_expanded") >= args.users, 600, 0.5)
    server.stop()

    # Measured run: every source is due at start.
    load_before = load_average()
    since = time.monotonic()
    server = Presenced(args.presenced, data_dir, port, extra)
    cpu0 = proc_cpu_seconds(server.pid)
    rss0 = proc_status_kib(server.pid, "VmRSS")
    done = wait_until(lambda: server.syncs("changed_or_expanded") >= args.users, 1200, 0.05)
    first_done = time.monotonic()
    cpu1 = proc_cpu_seconds(server.pid)
    result["first_sync"] = {
        "complete": done,
        "wall_s_from_start": round(first_done - server.started, 2),
        "listening_s": round(server.listening_s, 2),
        "cpu_s": round(cpu1, 2),
        "cpu_s_after_listening": round(cpu1 - cpu0, 2),
        "rss_listening_kib": rss0,
        "peak_rss_kib": proc_status_kib(server.pid, "VmHWM"),
        "rss_after_kib": proc_status_kib(server.pid, "VmRSS"),
        "http_200": ics.span(200, since)[0],
        "errors": server.errors(),
        "load_average": [load_before, load_average()],
    }
    print(json.dumps(result["first_sync"]), file=sys.stderr)
    if not args.first_sync_only:
        load_before = load_average()
        since = first_done
        done = wait_until(lambda: server.syncs("unchanged") >= args.users,
                          args.interval + 600, 0.1)
        cpu2 = proc_cpu_seconds(server.pid)
        count, first, last = ics.span(304, since)
        result["resync"] = {
            "complete": done,
            "not_modified": count,
            "span_s": round(last - first, 2) if first else None,
            "cpu_s": round(cpu2 - cpu1, 2),
            "rss_after_kib": proc_status_kib(server.pid, "VmRSS"),
            "errors": server.errors(),
            "load_average": [load_before, load_average()],
        }
        print(json.dumps(result["resync"]), file=sys.stderr)

        # Changes on the calendar server, seen in the presence within the interval.
        picked = [args.users * k // args.samples for k in range(args.samples)]
        changed_at = time.monotonic()
        for user in picked:
            ics.set(user, user_calendar(user, changed_event(user)))
        seen = {}

        def shows(user):
            answer = server.session.get(server.url + "/api/v1/users/%s/presence" % user_id(user))
            appointment = answer.json().get("appointment") or {}
            return appointment.get("subject") == CHANGED

        deadline = changed_at + args.interval + 30
        while len(seen) < len(picked) and time.monotonic() < deadline:
            for user in picked:
                if user not in seen and shows(user):
                    seen[user] = time.monotonic() - changed_at
            time.sleep(0.05)
        result["change_to_presence_s"] = sorted(round(s, 2) for s in seen.values())
        result["changes_not_seen"] = len(picked) - len(seen)
    server.stop()
    result["load_average_end"] = load_average()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
