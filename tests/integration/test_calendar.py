"""Calendar-driven presence against a real Radicale CalDAV server and a small ICS server, both on
127.0.0.1 (docs/calendar.md): events created over CalDAV change the presence on the WebSocket at
their start and end, recurrences and exceptions, out of office, private appointments, deletions,
ICS URLs, a server without sync-collection, and the errors that must never leave a user busy.
"""

import html
import http.server
import re
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from free_ports import free_port
from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, Watcher, new_user, poll

SYNC = ["--calendar-sync-interval", "1", "--calendar-timeout", "2"]




@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    """Radicale with its own storage; any username and password sign in, and may use any calendar."""
    folder = tmp_path_factory.mktemp("radicale")
    port = free_port()
    config = folder / "config"
    config.write_text(
        "[server]\nhosts = 127.0.0.1:%d\n[auth]\ntype = none\n[rights]\ntype = authenticated\n"
        "[storage]\nfilesystem_folder = %s\n[logging]\nlevel = warning\n" % (port, folder / "data"))
    process = subprocess.Popen(["/usr/bin/python3", "-m", "radicale", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def server(tmp_path):
    presenced = Presenced(tmp_path / "data", extra_args=SYNC + ["--calendar-keep-stale", "3"])
    yield presenced
    presenced.kill()


@pytest.fixture
def admin(server):
    return Client(server.url).login("admin", ADMIN_PASSWORD)


# ---- iCalendar and CalDAV helpers ----

def stamp(moment):
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def whole_second(seconds_ahead):
    """A UTC instant on a whole second, seconds_ahead from now (iCalendar has no fractions)."""
    now = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    return now + timedelta(seconds=seconds_ahead)


def vevent(uid, start, end, summary="Meeting", extra=""):
    return ("BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:%s\r\nDTSTART:%s\r\nDTEND:%s\r\nSUMMARY:%s\r\n%s"
            "END:VEVENT\r\n" % (uid, stamp(start), stamp(start), stamp(end), summary, extra))


def vcalendar(*events):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//presenced tests//EN\r\n" + "".join(events)
            + "END:VCALENDAR\r\n")


def new_calendar(radicale, owner):
    url = "%s/%s/work-%d/" % (radicale, owner, time.monotonic_ns())
    answer = requests.request("MKCALENDAR", url, auth=(owner, "x"), timeout=5)
    assert answer.status_code == 201, answer.text
    return url


def put_event(calendar, owner, uid, text):
    answer = requests.put(calendar + uid + ".ics", data=text.encode(), auth=(owner, "x"),
                          headers={"Content-Type": "text/calendar"}, timeout=5)
    assert answer.status_code in (201, 204), answer.text


def delete_event(calendar, owner, uid):
    answer = requests.delete(calendar + uid + ".ics", auth=(owner, "x"), timeout=5)
    assert answer.status_code in (200, 204), answer.text


def calendar_with_event(radicale, client, user, uid, start, end, summary="Meeting", extra=""):
    """A new calendar of user holding one event, set as the user's source; returns its URL."""
    calendar = new_calendar(radicale, user)
    put_event(calendar, user, uid, vcalendar(vevent(uid, start, end, summary, extra)))
    set_source(client, user, url=calendar)
    return calendar


def set_source(client, user, **source):
    answer = client.put("/api/v1/users/%s/calendar/source" % user, source)
    assert answer.status_code == 200, answer.text
    return answer.json()


def own_watcher(server, client, user):
    """The user's own WebSocket: a session (so Available outside meetings) watching themselves."""
    ws = Watcher(server, client.token)
    ws.subscribe(user)
    ws.presence_of(user, availability="Available")
    return ws


def presence(client, user):
    answer = client.get("/api/v1/users/%s/presence" % user)
    assert answer.status_code == 200, answer.text
    return answer.json()


def metric(admin, name):
    text = admin.get("/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


# ---- CalDAV ----

def test_meeting_starts_and_ends_on_time(server, admin, radicale):
    user, client = new_user(admin)
    ws = own_watcher(server, client, user)
    start = whole_second(3)
    end = start + timedelta(seconds=3)
    calendar_with_event(radicale, client, user, "standup", start, end, "Standup",
                        "LOCATION:Room 4\r\n")

    busy = ws.presence_of(user, timeout=10, availability="Busy", activity="InAMeeting")
    came = datetime.now(timezone.utc)
    assert start - timedelta(milliseconds=300) <= came <= start + timedelta(seconds=1), came
    assert "appointment" in busy["flags"]
    assert busy["appointment"]["subject"] == "Standup"
    assert busy["appointment"]["location"] == "Room 4"
    ws.presence_of(user, timeout=10, availability="Available")
    ended = datetime.now(timezone.utc)
    assert end - timedelta(milliseconds=300) <= ended <= end + timedelta(seconds=1), ended


def test_recurring_meeting_with_moved_and_excluded_instances(server, admin, radicale):
    user, client = new_user(admin)
    ws = own_watcher(server, client, user)
    calendar = new_calendar(radicale, user)
    today = whole_second(0) + timedelta(minutes=30)  # today's regular instance, not now
    first = today - timedelta(days=1)
    moved_start = whole_second(3)
    series = vevent("weekly", first, first + timedelta(hours=1), "Review",
                    "RRULE:FREQ=DAILY;COUNT=4\r\nEXDATE:%s\r\n" % stamp(today + timedelta(days=1)))
    moved = ("BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:%s\r\nRECURRENCE-ID:%s\r\nDTSTART:%s\r\n"
             "DTEND:%s\r\nSUMMARY:Review (moved)\r\nEND:VEVENT\r\n"
             % (stamp(first), stamp(today), stamp(moved_start),
                stamp(moved_start + timedelta(seconds=2))))
    put_event(calendar, user, "weekly", vcalendar(series, moved))
    set_source(client, user, url=calendar)

    busy = ws.presence_of(user, timeout=10, availability="Busy", activity="InAMeeting")
    assert busy["appointment"]["subject"] == "Review (moved)"
    layers = client.get("/api/v1/users/%s/layers" % user).json()["calendar"]
    starts = sorted(a["start"] for a in layers)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")
    assert [s[:19] for s in starts] == [iso(moved_start), iso(today + timedelta(days=2))], layers


def test_out_of_office_is_an_overlay_and_calls_still_ring(server, admin, radicale):
    user, client = new_user(admin)
    assert admin.post("/api/v1/users/%s/devices" % user, {"device": "desk"}).status_code in (200, 201)
    ws = own_watcher(server, client, user)
    now = whole_second(0)
    calendar_with_event(radicale, client, user, "away", now - timedelta(hours=1),
                        now + timedelta(hours=8), "Conference",
                        "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n")

    seen = ws.presence_of(user, timeout=10, activity="OutOfOffice")
    assert seen["availability"] == "Available" and "out_of_office" in seen["flags"], seen
    answer = admin.post("/api/v1/routing/decide",
                        {"callee": user, "caller": "+4989000", "type": "direct"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "ring", answer.json()


def test_private_appointment_shows_only_as_appointment_to_colleagues(server, admin, radicale):
    user, client = new_user(admin)
    colleague, colleague_client = new_user(admin)
    now = whole_second(0)
    calendar_with_event(radicale, client, user, "doctor", now - timedelta(minutes=5),
                        now + timedelta(hours=1), "Dr. Who\\, cardiology",
                        "CLASS:PRIVATE\r\nLOCATION:Clinic\r\n")

    own = poll(lambda: presence(client, user), lambda p: p.get("activity") == "InAMeeting",
               timeout=10)
    assert own["appointment"]["subject"] == "Dr. Who, cardiology", own
    seen = presence(colleague_client, user)  # the default level: business
    assert seen["activity"] == "InAMeeting", seen
    assert seen["appointment"]["subject"] == "appointment", seen
    assert "location" not in seen["appointment"] or not seen["appointment"]["location"], seen


def test_event_deleted_on_the_server_clears_the_state(server, admin, radicale):
    user, client = new_user(admin)
    ws = own_watcher(server, client, user)
    now = whole_second(0)
    calendar = calendar_with_event(radicale, client, user, "gone", now - timedelta(minutes=5),
                                   now + timedelta(hours=1))
    ws.presence_of(user, timeout=10, availability="Busy", activity="InAMeeting")
    delete_event(calendar, user, "gone")
    ws.presence_of(user, timeout=10, availability="Available")


def test_discovery_from_the_server_root(server, admin, radicale):
    user, client = new_user(admin)
    calendar = new_calendar(radicale, user)
    now = whole_second(0)
    put_event(calendar, user, "found", vcalendar(vevent(
        "found", now - timedelta(minutes=5), now + timedelta(hours=1), "Found")))
    set_source(client, user, url=radicale + "/", username=user, password="x", discover=True)
    seen = poll(lambda: presence(client, user), lambda p: p.get("activity") == "InAMeeting",
                timeout=10)
    assert seen["appointment"]["subject"] == "Found", seen


# ---- ICS URLs and errors ----

class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with a whole body."""

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with a free port, for one handler class."""

    def __init__(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class IcsServer(LocalServer):
    """A tiny HTTP server: /cal.ics with an ETag (304 on If-None-Match), /secret.ics always 401,
    /broken.ics not iCalendar, and /cal.ics answering 500 once `failing` is set."""

    def __init__(self):
        self.body = vcalendar()
        self.failing = False
        self.not_modified = 0
        owner = self

        class Handler(QuietHandler):
            def do_GET(self):
                if self.path == "/secret.ics":
                    return self.answer(401, b"", {"WWW-Authenticate": 'Basic realm="x"'})
                if self.path == "/broken.ics":
                    return self.answer(200, b"<html>not a calendar</html>", {})
                if owner.failing:
                    return self.answer(500, b"", {})
                etag = '"%d"' % hash(owner.body)
                if self.headers.get("If-None-Match") == etag:
                    owner.not_modified += 1
                    return self.answer(304, b"", {"ETag": etag})
                return self.answer(200, owner.body.encode(),
                                   {"ETag": etag, "Content-Type": "text/calendar"})

        super().__init__(Handler)
        self.url = self.origin


@pytest.fixture
def ics():
    server = IcsServer()
    yield server
    server.close()


class SlowIcsServer(LocalServer):
    """/slow.ics answers only after `delay` seconds (past the connector's timeout), /fast.ics
    at once with `body`."""

    def __init__(self, body, delay):
        owner = self
        self.body = body

        class Handler(QuietHandler):
            def do_GET(self):
                if self.path == "/slow.ics":
                    time.sleep(delay)
                self.answer(200, owner.body.encode(), {"Content-Type": "text/calendar"})

        super().__init__(Handler)


def test_a_slow_calendar_server_does_not_hold_back_the_others(server, admin):
    """Syncs run on several workers: five sources that time out (2 s each) do not delay a
    sixth user's calendar, which one worker in turn would read only after them (10 s)."""
    now = whole_second(0)
    slow = SlowIcsServer(vcalendar(vevent("f", now - timedelta(minutes=5), now + timedelta(hours=1),
                                          "Fast")), delay=4)
    try:
        for _ in range(5):
            stuck, _client = new_user(admin)
            set_source(admin, stuck, mode="ics", url=slow.origin + "/slow.ics")
        user, client = new_user(admin)
        started = time.monotonic()
        set_source(client, user, mode="ics", url=slow.origin + "/fast.ics")
        seen = poll(lambda: presence(client, user), lambda p: "appointment" in p, timeout=10)
        assert seen["appointment"]["subject"] == "Fast", seen
        assert time.monotonic() - started < 3
        assert poll(lambda: metric(admin, "presenced_calendar_errors_total{cause=\"unreachable\"}"),
                    lambda n: n >= 5, timeout=5) >= 5
    finally:
        slow.close()


def test_ics_url_is_read_and_only_refetched_when_changed(server, admin, ics):
    user, client = new_user(admin)
    ws = own_watcher(server, client, user)
    now = whole_second(0)
    ics.body = vcalendar(vevent("ics1", now - timedelta(minutes=5), now + timedelta(hours=1),
                                "From ICS"))
    set_source(client, user, mode="ics", url=ics.url + "/cal.ics")
    busy = ws.presence_of(user, timeout=10, activity="InAMeeting")
    assert busy["appointment"]["subject"] == "From ICS"
    assert poll(lambda: ics.not_modified, lambda n: n >= 1, timeout=5) >= 1
    ics.body = vcalendar()
    ws.presence_of(user, timeout=10, availability="Available")


def test_unreachable_server_never_leaves_a_stuck_busy(server, admin, ics):
    user, client = new_user(admin)
    ws = own_watcher(server, client, user)
    now = whole_second(0)
    ics.body = vcalendar(vevent("long", now - timedelta(minutes=5), now + timedelta(hours=4)))
    set_source(client, user, mode="ics", url=ics.url + "/cal.ics")
    ws.presence_of(user, timeout=10, activity="InAMeeting")
    ics.failing = True
    # --calendar-keep-stale 3: the last good calendar is kept 3 s, then dropped.
    ws.presence_of(user, timeout=10, availability="Available")
    status = client.get("/api/v1/users/%s/calendar/source" % user).json()["status"]
    assert status["ok"] is False and "HTTP 500" in status["error"], status
    assert metric(admin, "presenced_calendar_stale_dropped_total") >= 1


def test_errors_are_counted_and_shown_to_admins(server, admin, ics):
    denied, _ = new_user(admin)
    broken, _ = new_user(admin)
    closed, _ = new_user(admin)
    set_source(admin, denied, mode="ics", url=ics.url + "/secret.ics", username="u", password="p")
    set_source(admin, broken, mode="ics", url=ics.url + "/broken.ics")
    set_source(admin, closed, url="http://127.0.0.1:%d/cal/" % free_port())
    for user, words in ((denied, "HTTP 401"), (broken, "VCALENDAR"), (closed, "127.0.0.1")):
        status = poll(lambda: admin.get("/api/v1/users/%s/calendar/source" % user).json()["status"],
                      lambda s: s.get("ok") is False, timeout=10)
        assert status["ok"] is False and words in status["error"], (user, status)
    assert metric(admin, 'presenced_calendar_errors_total{cause="unauthorized"}') >= 1
    assert metric(admin, 'presenced_calendar_errors_total{cause="parse"}') >= 1
    assert metric(admin, 'presenced_calendar_errors_total{cause="unreachable"}') >= 1


def test_source_password_is_never_returned_and_bad_sources_are_refused(server, admin):
    user, client = new_user(admin)
    other, other_client = new_user(admin)
    body = set_source(client, user, url="https://cal.example.com/u/", username="u",
                      password="hunter2")
    assert "password" not in body and body["password_set"] is True, body
    got = client.get("/api/v1/users/%s/calendar/source" % user)
    assert got.status_code == 200 and "hunter2" not in got.text, got.text
    # Without a password and with the same username the stored one stays.
    assert set_source(client, user, url="https://cal.example.com/u/", username="u")["password_set"]
    for bad in ({"url": "file:///etc/passwd"}, {"url": "https://x", "mode": "exchange"},
                {"mode": "ics"}, {"url": "https://x", "mode": "ics", "discover": True}, []):
        answer = client.put("/api/v1/users/%s/calendar/source" % user, bad)
        assert answer.status_code == 400, (bad, answer.text)
    assert other_client.get("/api/v1/users/%s/calendar/source" % user).status_code == 403
    assert client.delete("/api/v1/users/%s/calendar/source" % user).status_code == 204
    assert client.get("/api/v1/users/%s/calendar/source" % user).status_code == 404


def test_source_survives_a_restart(server, admin, ics):
    user, client = new_user(admin)
    now = whole_second(0)
    ics.body = vcalendar(vevent("r", now - timedelta(minutes=5), now + timedelta(hours=1), "Kept"))
    set_source(client, user, mode="ics", url=ics.url + "/cal.ics")
    poll(lambda: presence(client, user), lambda p: p.get("activity") == "InAMeeting", timeout=10)
    server.restart()
    client = Client(server.url, client.token)
    ics.body = vcalendar(vevent("r", now - timedelta(minutes=5), now + timedelta(hours=1), "Again"))
    seen = poll(lambda: presence(client, user),
                lambda p: p.get("appointment", {}).get("subject") == "Again", timeout=10)
    assert seen["appointment"]["subject"] == "Again", seen


class PlainDavServer(LocalServer):
    """A CalDAV collection at /cal/ without sync-collection (REPORT of it: 501), so clients fall
    back to the ctag, the members' ETags and calendar-multiget (RFC 4791 §7.9)."""

    def __init__(self):
        self.members = {}  # href -> iCalendar text
        self.multiget_hrefs = []
        owner = self

        class Handler(QuietHandler):
            def body(self):
                return self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()

            def do_PROPFIND(self):
                asked = self.body()
                if "getctag" in asked:
                    ctag = str(hash(tuple(sorted(owner.members.items()))))
                    props = ["<D:response><D:href>/cal/</D:href><D:propstat><D:prop>"
                             "<CS:getctag>%s</CS:getctag></D:prop>"
                             "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>" % ctag]
                else:
                    props = ["<D:response><D:href>%s</D:href><D:propstat><D:prop>"
                             "<D:getetag>\"%d\"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK"
                             "</D:status></D:propstat></D:response>" % (href, hash(text))
                             for href, text in owner.members.items()]
                self.multistatus("".join(props))

            def do_REPORT(self):
                asked = self.body()
                if "sync-collection" in asked:
                    return self.answer(501, b"")
                hrefs = re.findall(r"<d:href>([^<]*)</d:href>", asked)
                owner.multiget_hrefs.append(hrefs)
                self.multistatus("".join(
                    "<D:response><D:href>%s</D:href><D:propstat><D:prop><D:getetag>\"%d\""
                    "</D:getetag><C:calendar-data>%s</C:calendar-data></D:prop>"
                    "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
                    % (href, hash(owner.members[href]), html.escape(owner.members[href]))
                    for href in hrefs if href in owner.members))

            def multistatus(self, responses):
                self.answer(207, ('<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" '
                                  'xmlns:C="urn:ietf:params:xml:ns:caldav" '
                                  'xmlns:CS="http://calendarserver.org/ns/">%s</D:multistatus>'
                                  % responses).encode())

        super().__init__(Handler)
        self.url = self.origin + "/cal/"


def test_server_without_sync_collection_is_read_by_ctag_and_etags(server, admin):
    dav = PlainDavServer()
    try:
        user, client = new_user(admin)
        ws = own_watcher(server, client, user)
        now = whole_second(0)
        meeting = lambda subject: vcalendar(vevent("a", now - timedelta(minutes=5),
                                                   now + timedelta(hours=1), subject))
        dav.members = {"/cal/a.ics": meeting("Budget"),
                       "/cal/b.ics": vcalendar(vevent("b", now + timedelta(hours=2),
                                                      now + timedelta(hours=3), "Later"))}
        set_source(client, user, url=dav.url)
        seen = ws.presence_of(user, timeout=10, activity="InAMeeting")
        assert seen["appointment"]["subject"] == "Budget", seen
        assert seen["next_appointment"]["subject"] == "Later", seen
        assert sorted(dav.multiget_hrefs[0]) == ["/cal/a.ics", "/cal/b.ics"]

        dav.members["/cal/a.ics"] = meeting("Budget (room changed)")
        seen = ws.presence_of(user, timeout=10, activity="InAMeeting")
        assert seen["appointment"]["subject"] == "Budget (room changed)", seen
        assert dav.multiget_hrefs[-1] == ["/cal/a.ics"]  # only the changed member

        del dav.members["/cal/a.ics"]
        ws.presence_of(user, timeout=10, availability="Available")
    finally:
        dav.close()
