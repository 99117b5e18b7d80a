#!/usr/bin/python3
"""An emulator of the Microsoft Graph presence API, for tests and the demo (docs/teams.md).

Python 3 standard library only. It serves, on 127.0.0.1:

  POST /{tenant}/oauth2/v2.0/token               client credentials -> expiring bearer token
  GET  /users/{id|upn}                           id, userPrincipalName, mail
  GET  /users/{id|upn}/presence                  the aggregated presence
  POST /communications/getPresencesByUserId      {"ids": [...]} (at most 650)
  POST /users/{id}/presence/setPresence          an application session (allowed pairs only)
  POST /users/{id}/presence/clearPresence        {"sessionId"}
  POST /users/{id}/presence/setUserPreferredPresence, clearUserPreferredPresence
  POST/GET/PATCH/DELETE /subscriptions[/{id}]    presence change notifications

and a control API for tests under /_control (the Teams client's own changes, throttling,
latency, what the application set). Rules and limits follow docs/teams.md, which names the
Graph documentation each one comes from and what is not emulated.
"""

import argparse
import collections
import heapq
import json
import math
import random
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_IDS = 650  # getPresencesByUserId and a subscription's $filter

# setPresence: the only availability/activity pairs Graph accepts for an application session.
SESSION_PAIRS = {
    ("Available", "Available"), ("Busy", "InACall"), ("Busy", "InAConferenceCall"),
    ("Away", "Away"), ("DoNotDisturb", "Presenting"),
}
# setUserPreferredPresence pairs; DoNotDisturb and Busy last a day by default, the others 7 days.
PREFERRED_PAIRS = {
    ("Available", "Available"), ("Busy", "Busy"), ("DoNotDisturb", "DoNotDisturb"),
    ("BeRightBack", "BeRightBack"), ("Away", "Away"), ("Offline", "OffWork"),
}
# What a Teams client session can show (the client's own states, meetings and calls included).
CLIENT_AVAILABILITY = {"Available", "Away", "BeRightBack", "Busy", "DoNotDisturb", "Offline"}
CLIENT_ACTIVITY = {"Available", "Away", "BeRightBack", "Busy", "DoNotDisturb", "InACall",
                   "InAConferenceCall", "InAMeeting", "Presenting", "OffWork", "Offline"}
# Among sessions: DoNotDisturb > Busy > Available > Away (BeRightBack ranks with Away).
RANK = {"DoNotDisturb": 4, "Busy": 3, "Available": 2, "BeRightBack": 1, "Away": 1, "Offline": 0}

DURATION = re.compile(r"^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)$")
FILTER = re.compile(r"^/?communications/presences\?\$filter=id in \((.*)\)$")
SINGLE = re.compile(r"^/?communications/presences/([^/?]+)$")


class GraphError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def parse_duration(text):
    """ISO-8601 PT..H..M..S -> seconds, or None."""
    match = DURATION.match(text or "")
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text):
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class Latency:
    """Delay before a notification leaves: 'fixed:S' or 'lognormal:MEDIAN,SIGMA[,MAX]' seconds."""

    def __init__(self, spec="fixed:0", seed=None):
        kind, _, args = spec.partition(":")
        values = [float(v) for v in args.split(",") if v]
        if kind == "fixed" and len(values) == 1:
            self.sample = lambda: values[0]
        elif kind == "lognormal" and len(values) in (2, 3):
            rng = random.Random(seed)
            cap = values[2] if len(values) == 3 else 60.0
            mu, sigma = math.log(values[0]), values[1]
            self.sample = lambda: min(cap, rng.lognormvariate(mu, sigma))
        else:
            raise ValueError(f"latency: {spec!r}; use fixed:S or lognormal:MEDIAN,SIGMA[,MAX]")
        self.spec = spec


class TokenBucket:
    """Graph's presence limit: `limit` requests per `window` seconds per app and tenant."""

    def __init__(self, limit, window):
        self.limit, self.window = limit, window
        self.tokens, self.at = float(limit), time.monotonic()

    def take(self):
        """None if allowed, else the seconds until a request would be."""
        now = time.monotonic()
        self.tokens = min(self.limit, self.tokens + (now - self.at) * self.limit / self.window)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) * self.window / self.limit


class Emulator:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.tenant = args.tenant
        self.client_id, self.client_secret = args.client_id, args.client_secret
        self.tokens = {}  # access token -> expiry (epoch)
        self.users = {}  # id -> user dict
        self.subscriptions = {}
        self.bucket = TokenBucket(args.rate_limit, args.rate_window)
        self.forced_429 = 0
        self.forced_retry_after = 1
        self.forced_status = []  # statuses the next Graph requests answer with (5xx tests)
        self.latency = Latency(args.notification_latency, args.seed)
        self.stats = {"requests": 0, "throttled": 0, "notifications": 0, "validations": 0,
                      "subscriptions_created": 0, "subscriptions_renewed": 0,
                      "set_presence": 0, "clear_presence": 0, "set_preferred": 0,
                      "clear_preferred": 0, "get_presences": 0, "get_presence": 0}
        self.sent = collections.deque(maxlen=100000)  # (user id, wall-clock time posted)
        self.outbox = []  # heap of (due, seq, url, body)
        self.outbox_seq = 0
        self.outbox_ready = threading.Condition(self.lock)
        self.stopping = False

    # ---- presence ----

    def user(self, key):
        user = self.users.get(key)
        if user is None:
            for candidate in self.users.values():
                if candidate["upn"].lower() == key.lower():
                    return candidate
            raise GraphError(404, "NotFound", f"user {key} not found")
        return user

    def add_user(self, upn, user_id=None):
        with self.lock:
            user_id = user_id or str(uuid.uuid4())
            self.users[user_id] = {"id": user_id, "upn": upn, "sessions": {}, "preferred": None,
                                   "shown": None}
            self.recompute(self.users[user_id])
            return user_id

    def session_state(self, session, now):
        """A session's pair after expiry and the Available -> AvailableInactive -> Away fade."""
        if session["expires"] is not None and now >= session["expires"]:
            return None  # expired: the session is Offline, so it counts no more
        availability, activity = session["availability"], session["activity"]
        if availability == "Available":
            idle = now - session["active_at"]
            if idle >= self.args.inactive_after + self.args.away_after:
                return ("Away", "Away")
            if idle >= self.args.inactive_after:
                return ("Available", "AvailableInactive")
        return (availability, activity)

    def aggregate(self, user, now):
        states = [s for s in (self.session_state(x, now) for x in user["sessions"].values()) if s]
        if not states:
            return ("Offline", "Offline")  # no session: preferred presence has no effect
        preferred = user["preferred"]
        if preferred and (preferred["expires"] is None or now < preferred["expires"]):
            return (preferred["availability"], preferred["activity"])
        return max(states, key=lambda s: RANK.get(s[0], 0))

    def presence_json(self, user, now=None):
        availability, activity = self.aggregate(user, now or time.time())
        return {"@odata.type": "#microsoft.graph.presence", "id": user["id"],
                "availability": availability, "activity": activity}

    def recompute(self, user, now=None):
        """Notifies subscribers when the aggregated presence changed; with the lock held."""
        now = now or time.time()
        shown = self.aggregate(user, now)
        if shown == user["shown"]:
            return
        user["shown"] = shown
        for sub in list(self.subscriptions.values()):
            if user["id"] in sub["ids"] and now < sub["expires"]:
                self.queue_notification(sub, user)

    def queue_notification(self, sub, user):
        item = {"subscriptionId": sub["id"], "clientState": sub["clientState"],
                "changeType": "updated", "resource": f"communications/presences/{user['id']}",
                "subscriptionExpirationDateTime": iso(sub["expires"]), "tenantId": self.tenant,
                "resourceData": {"@odata.type": "#Microsoft.Graph.presence",
                                 "@odata.id": f"communications/presences/{user['id']}",
                                 "id": user["id"]}}
        if sub["includeResourceData"]:
            # Graph encrypts these (encryptedContent); the emulator sends them in clear.
            availability, activity = user["shown"]
            item["resourceData"].update(availability=availability, activity=activity)
        due = time.monotonic() + self.latency.sample()
        self.outbox_seq += 1
        heapq.heappush(self.outbox, (due, self.outbox_seq, sub["notificationUrl"],
                                     json.dumps({"value": [item]}).encode(), user["id"]))
        self.outbox_ready.notify()

    def deliver_loop(self):
        while True:
            with self.lock:
                while not self.stopping and (not self.outbox or self.outbox[0][0] > time.monotonic()):
                    wait = self.outbox[0][0] - time.monotonic() if self.outbox else None
                    self.outbox_ready.wait(wait)
                if self.stopping:
                    return
                _, _, url, body, user_id = heapq.heappop(self.outbox)
            threading.Thread(target=self.post_notification, args=(url, body, user_id),
                             daemon=True).start()

    def post_notification(self, url, body, user_id):
        with self.lock:
            self.sent.append((user_id, time.time()))
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
        except (urllib.error.URLError, OSError):
            pass  # Graph retries for a while and then drops; the emulator drops at once
        with self.lock:
            self.stats["notifications"] += 1

    def tick_loop(self):
        """Expiry, the idle fade and subscription ends happen with no request."""
        while not self.stopping:
            time.sleep(0.05)
            with self.lock:
                now = time.time()
                for sub_id in [k for k, s in self.subscriptions.items() if now >= s["expires"]]:
                    del self.subscriptions[sub_id]
                for user in self.users.values():
                    for sid in [k for k, s in user["sessions"].items()
                                if s["expires"] is not None and now >= s["expires"]]:
                        del user["sessions"][sid]
                    self.recompute(user, now)

    # ---- Graph requests (the lock is held) ----

    def check_token(self, headers):
        auth = headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        expiry = self.tokens.get(token)
        if expiry is None or time.time() >= expiry:
            raise GraphError(401, "InvalidAuthenticationToken",
                             "Access token has expired or is not yet valid." if expiry
                             else "Access token is empty or invalid.")

    def admit(self):
        self.stats["requests"] += 1
        if self.forced_status:
            status = self.forced_status.pop(0)
            raise GraphError(status, "ServiceUnavailable" if status >= 500 else "Forced",
                             f"forced status {status}")
        wait = None
        if self.forced_429 > 0:
            self.forced_429 -= 1
            wait = self.forced_retry_after
        else:
            wait = self.bucket.take()
        if wait is not None:
            self.stats["throttled"] += 1
            raise GraphError(429, "TooManyRequests", "Too many requests",
                             {"Retry-After": str(max(1, math.ceil(wait)))})

    def duration(self, text, default, low, high):
        if text is None:
            return default * self.args.duration_scale
        seconds = parse_duration(text)
        if seconds is None or not low <= seconds <= high:
            raise GraphError(400, "BadRequest",
                             f"expirationDuration: {text!r}, allowed PT{low // 60}M to PT{high // 3600}H")
        return seconds * self.args.duration_scale

    def set_presence(self, user, body):
        if body.get("sessionId") != self.client_id:
            raise GraphError(400, "BadRequest", "sessionId: must be the application (client) id")
        pair = (body.get("availability"), body.get("activity"))
        if pair not in SESSION_PAIRS:
            raise GraphError(400, "BadRequest", f"availability/activity {pair[0]}/{pair[1]} not allowed")
        seconds = self.duration(body.get("expirationDuration"), 300, 300, 4 * 3600)
        now = time.time()
        user["sessions"][body["sessionId"]] = {
            "availability": pair[0], "activity": pair[1], "expires": now + seconds,
            "active_at": now, "set_at": now}
        self.stats["set_presence"] += 1

    def clear_presence(self, user, body):
        if user["sessions"].pop(body.get("sessionId"), None) is None:
            raise GraphError(404, "NotFound", "no presence session with this sessionId")
        self.stats["clear_presence"] += 1

    def set_preferred(self, user, body):
        pair = (body.get("availability"), body.get("activity"))
        if pair not in PREFERRED_PAIRS:
            raise GraphError(400, "BadRequest", f"availability/activity {pair[0]}/{pair[1]} not allowed")
        default = 86400 if pair[0] in ("DoNotDisturb", "Busy") else 7 * 86400
        seconds = self.duration(body.get("expirationDuration"), default, 300, 7 * 86400)
        user["preferred"] = {"availability": pair[0], "activity": pair[1],
                             "expires": time.time() + seconds, "by": "application"}
        self.stats["set_preferred"] += 1

    def create_subscription(self, body):
        resource = body.get("resource", "")
        match, single = FILTER.match(resource), SINGLE.match(resource)
        if match:
            ids = re.findall(r"'([^']*)'", match.group(1))
        elif single:
            ids = [single.group(1)]
        else:
            raise GraphError(400, "InvalidRequest", f"resource: {resource!r} not supported")
        if not ids or len(ids) > MAX_IDS:
            raise GraphError(400, "InvalidRequest", f"resource: {len(ids)} ids, limit {MAX_IDS}")
        if body.get("changeType") != "updated":
            raise GraphError(400, "InvalidRequest", "changeType: only 'updated' is supported")
        expires = self.check_expiry(body.get("expirationDateTime"))
        url = body.get("notificationUrl", "")
        if not url.startswith(("http://", "https://")):
            raise GraphError(400, "InvalidRequest", "notificationUrl: must be http(s)")
        return {"id": str(uuid.uuid4()), "resource": resource, "ids": set(ids),
                "changeType": "updated", "notificationUrl": url, "expires": expires,
                "clientState": body.get("clientState"),
                "includeResourceData": bool(body.get("includeResourceData"))}

    def check_expiry(self, text):
        expires = parse_iso(text or "")
        now = time.time()
        if expires is None or expires <= now:
            raise GraphError(400, "InvalidRequest", f"expirationDateTime: {text!r} is not in the future")
        if expires > now + self.args.max_subscription_lifetime + 5:
            raise GraphError(400, "InvalidRequest",
                             f"expirationDateTime: {text!r}, at most "
                             f"{self.args.max_subscription_lifetime} s from now for presence")
        return expires

    def subscription_json(self, sub):
        return {"id": sub["id"], "resource": sub["resource"], "changeType": "updated",
                "notificationUrl": sub["notificationUrl"], "clientState": sub["clientState"],
                "expirationDateTime": iso(sub["expires"]),
                "includeResourceData": sub["includeResourceData"]}


def validate_endpoint(url):
    """Graph's handshake: POST ?validationToken=..., expects 200 with the token as text/plain."""
    token = secrets.token_urlsafe(24)
    sep = "&" if "?" in url else "?"
    request = urllib.request.Request(url + sep + "validationToken=" + urllib.parse.quote(token),
                                     data=b"", method="POST", headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status == 200 and answer.read().decode() == token
    except (urllib.error.URLError, OSError, UnicodeDecodeError):
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in two writes: no delayed-ACK stall
    emulator = None

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            raise GraphError(400, "BadRequest", "body: not JSON")
        if not isinstance(value, dict):
            raise GraphError(400, "BadRequest", "body: not a JSON object")
        return value

    def send(self, status, value=None, headers=None):
        data = b"" if value is None else json.dumps(value).encode()
        self.send_response(status)
        for name, text in (headers or {}).items():
            self.send_header(name, text)
        if value is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def dispatch(self, method):
        path = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in path.path.split("/") if p]
        try:
            if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and method == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                status, value = token(self.emulator, parts[0], self.rfile.read(length))
            else:
                body = self.body() if method in ("POST", "PATCH") else {}
                if parts and parts[0] == "_control":
                    status, value = control(self.emulator, method, parts[1:], body)
                else:
                    status, value = graph(self.emulator, method, parts, body, self.headers)
            self.send(status, value)
        except GraphError as error:
            self.send(error.status, {"error": {"code": error.code, "message": error.message}},
                      error.headers)
        except (KeyError, TypeError, ValueError) as error:  # a test's malformed control call
            self.send(400, {"error": {"code": "BadRequest", "message": repr(error)}})


def token(em, tenant, raw):
    form = urllib.parse.parse_qs(raw.decode(errors="replace"))
    field = lambda name: (form.get(name) or [""])[0]
    if field("grant_type") != "client_credentials":
        raise GraphError(400, "unsupported_grant_type", "grant_type: client_credentials only")
    with em.lock:
        if tenant != em.tenant or field("client_id") != em.client_id \
                or field("client_secret") != em.client_secret:
            raise GraphError(401, "invalid_client", "client_id or client_secret not valid")
        access = secrets.token_urlsafe(32)
        em.tokens[access] = time.time() + em.args.token_lifetime
        em.stats.setdefault("tokens", 0)
        em.stats["tokens"] += 1
    return 200, {"token_type": "Bearer", "expires_in": em.args.token_lifetime,
                 "ext_expires_in": em.args.token_lifetime, "access_token": access}


def graph(em, method, parts, body, headers):
    if parts[:1] == ["v1.0"]:
        parts = parts[1:]
    with em.lock:
        em.check_token(headers)
        em.admit()
        if method == "POST" and parts == ["communications", "getPresencesByUserId"]:
            ids = body.get("ids")
            if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS:
                raise GraphError(400, "BadRequest", f"ids: 1 to {MAX_IDS} ids")
            em.stats["get_presences"] += 1
            found = [em.presence_json(em.users[i]) for i in ids if i in em.users]
            return 200, {"value": found}
        if parts[:1] == ["users"] and len(parts) >= 2:
            user = em.user(parts[1])
            rest = parts[2:]
            if method == "GET" and not rest:
                return 200, {"id": user["id"], "userPrincipalName": user["upn"], "mail": user["upn"]}
            if method == "GET" and rest == ["presence"]:
                em.stats["get_presence"] += 1
                return 200, em.presence_json(user)
            actions = {"setPresence": em.set_presence, "clearPresence": em.clear_presence,
                       "setUserPreferredPresence": em.set_preferred,
                       "clearUserPreferredPresence": clear_preferred(em)}
            if method == "POST" and len(rest) == 2 and rest[0] == "presence" and rest[1] in actions:
                actions[rest[1]](user, body)
                em.recompute(user)
                return 200, None
        if parts[:1] == ["subscriptions"]:
            return subscriptions(em, method, parts[1:], body)
    raise GraphError(404, "NotFound", f"{method} /{'/'.join(parts)} is not emulated")


def clear_preferred(em):
    def clear(user, body):
        user["preferred"] = None
        em.stats["clear_preferred"] += 1
    return clear


def subscriptions(em, method, rest, body):
    if method == "POST" and not rest:
        sub = em.create_subscription(body)
        em.lock.release()  # the handshake calls the subscriber, which may call us
        try:
            valid = validate_endpoint(sub["notificationUrl"])
        finally:
            em.lock.acquire()
        em.stats["validations"] += 1
        if not valid:
            raise GraphError(400, "InvalidRequest",
                             "Subscription validation request failed. Response must exactly match "
                             "validationToken query parameter.")
        em.subscriptions[sub["id"]] = sub
        em.stats["subscriptions_created"] += 1
        return 201, em.subscription_json(sub)
    if method == "GET" and not rest:
        return 200, {"value": [em.subscription_json(s) for s in em.subscriptions.values()]}
    sub = em.subscriptions.get(rest[0]) if len(rest) == 1 else None
    if sub is None:
        raise GraphError(404, "ResourceNotFound", "subscription not found")
    if method == "PATCH":
        sub["expires"] = em.check_expiry(body.get("expirationDateTime"))
        em.stats["subscriptions_renewed"] += 1
        return 200, em.subscription_json(sub)
    if method == "DELETE":
        del em.subscriptions[sub["id"]]
        return 204, None
    if method == "GET":
        return 200, em.subscription_json(sub)
    raise GraphError(405, "MethodNotAllowed", method)


def control(em, method, parts, body):
    """The test's side: what the Teams client does, and what the application left behind."""
    with em.lock:
        if parts == ["users"] and method == "POST":
            return 201, {"id": em.add_user(body["upn"], body.get("id"))}
        if parts == ["stats"] and method == "GET":
            return 200, dict(em.stats, subscriptions=len(em.subscriptions))
        if parts == ["notifications"] and method == "GET":
            # When each notification left (wall clock), for end-to-end timing.
            return 200, {"value": [{"id": i, "sent": t} for i, t in em.sent]}
        if parts == ["subscriptions"] and method == "GET":
            return 200, {"value": [dict(em.subscription_json(s), ids=sorted(s["ids"]))
                                   for s in em.subscriptions.values()]}
        if parts == ["throttle"] and method == "POST":
            em.forced_429 = int(body.get("requests", 0))
            em.forced_retry_after = int(body.get("retry_after", 1))
            return 200, {}
        if parts == ["fail"] and method == "POST":
            em.forced_status = [int(s) for s in body.get("statuses", [])]
            return 200, {}
        if parts == ["tokens"] and method == "DELETE":
            em.tokens.clear()  # every token now fails with 401, as after a key rollover
            return 204, None
        if parts == ["latency"] and method == "POST":
            try:
                em.latency = Latency(body.get("spec", "fixed:0"), em.args.seed)
            except ValueError as error:
                raise GraphError(400, "BadRequest", str(error))
            return 200, {}
        if len(parts) >= 2 and parts[0] == "users":
            user = em.user(parts[1])
            now = time.time()
            if len(parts) == 2 and method == "GET":
                return 200, {"id": user["id"], "upn": user["upn"],
                             "presence": em.presence_json(user, now),
                             "sessions": {k: {"availability": s["availability"],
                                              "activity": s["activity"],
                                              "state": em.session_state(s, now),
                                              "expires": s["expires"] and iso(s["expires"])}
                                          for k, s in user["sessions"].items()},
                             "preferred": user["preferred"] and dict(
                                 user["preferred"], expires=user["preferred"]["expires"]
                                 and iso(user["preferred"]["expires"]))}
            if parts[2:] == ["client"] and method == "POST":
                pair = (body.get("availability"), body.get("activity"))
                if pair[0] not in CLIENT_AVAILABILITY or pair[1] not in CLIENT_ACTIVITY:
                    raise GraphError(400, "BadRequest", f"client pair {pair} not known")
                user["sessions"]["teams-client"] = {
                    "availability": pair[0], "activity": pair[1], "expires": None,
                    "active_at": now, "set_at": now}
            elif parts[2:] == ["client"] and method == "DELETE":
                user["sessions"].pop("teams-client", None)
            elif parts[2:] == ["preferred"] and method == "POST":
                pair = (body.get("availability"), body.get("activity"))
                if pair not in PREFERRED_PAIRS:
                    raise GraphError(400, "BadRequest", f"preferred pair {pair} not allowed")
                user["preferred"] = {"availability": pair[0], "activity": pair[1],
                                     "expires": None, "by": "user"}
            elif parts[2:] == ["preferred"] and method == "DELETE":
                user["preferred"] = None
            else:
                raise GraphError(404, "NotFound", "no such control")
            em.recompute(user, now)
            return 200, em.presence_json(user, now)
    raise GraphError(404, "NotFound", "no such control")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tenant", default="contoso")
    parser.add_argument("--client-id", default="11111111-2222-3333-4444-555555555555")
    parser.add_argument("--client-secret", default="emulator-secret")
    parser.add_argument("--user", action="append", default=[],
                        help="UPN of a user to create at start (repeatable); ids are printed")
    parser.add_argument("--token-lifetime", type=int, default=3599)
    parser.add_argument("--rate-limit", type=int, default=1500, help="requests per window")
    parser.add_argument("--rate-window", type=float, default=30.0, help="seconds")
    parser.add_argument("--inactive-after", type=float, default=300.0,
                        help="seconds an Available session stays Available")
    parser.add_argument("--away-after", type=float, default=300.0,
                        help="further seconds of AvailableInactive before Away")
    parser.add_argument("--duration-scale", type=float, default=1.0,
                        help="multiplies every expirationDuration (short sessions for tests)")
    parser.add_argument("--max-subscription-lifetime", type=float, default=3600.0)
    parser.add_argument("--notification-latency", default="fixed:0",
                        help="fixed:S or lognormal:MEDIAN,SIGMA[,MAX] (seconds)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        emulator = Emulator(args)
    except ValueError as error:
        parser.error(str(error))
    for upn in args.user:
        print(f"user {upn} {emulator.add_user(upn)}", flush=True)
    Handler.emulator = emulator
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=emulator.deliver_loop, daemon=True).start()
    threading.Thread(target=emulator.tick_loop, daemon=True).start()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
