"""A SIP user agent for the integration tests, just enough of one: sipp runs, the digest
answer (RFC 7616 §3.4, SHA-256 and MD5) and a subscriber that keeps one dialog and answers every
NOTIFY. sipp 3.6 (Debian sip-tester) answers only an MD5 challenge given first, so the tests that
need SHA-256 use this client.
"""

import hashlib
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import free_ports

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).resolve().parent / "sip"


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both)."""
    return free_ports.free_port(udp=True, tcp=True)


# sipp's exit status when it cannot bind one of its sockets (its own port or its media port).
SIPP_BIND_FAILED = 254


def run_sipp(server, tmp_path, scenario, transport="u1", variables=None, credentials=None,
             options=()):
    """Runs one call of the scenario; returns (exit status, message trace). `credentials`
    (user, password) fill the scenario's [authentication]; `options` are more sipp arguments.
    A port found free can be taken by another test before sipp binds it: sipp then exits with
    SIPP_BIND_FAILED and is run again on new ports."""
    trace = tmp_path / (scenario + "." + transport + ".msg")
    for _ in range(3):
        command = [SIPP, "-nostdin", "-i", "127.0.0.1", "-p", str(free_port()),
                   "-mp", str(free_ports.free_media_port()), "-t", transport,
                   "-sf", str(SCENARIOS / (scenario + ".xml")), "-m", "1", "-timeout", "10s",
                   "-trace_msg", "-message_file", str(trace)]
        for name, value in (variables or {}).items():
            command += ["-set", name, value]
        if credentials:
            command += ["-au", credentials[0], "-ap", credentials[1]]
        command += list(options)
        command.append("127.0.0.1:%d" % server.sip_port)
        status = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=str(tmp_path),
                                timeout=30).returncode
        if status != SIPP_BIND_FAILED:
            break
    return status, trace.read_text(errors="replace") if trace.exists() else ""


def responses(trace):
    """The status lines sipp received, in order."""
    return re.findall(r"^SIP/2\.0 (\d{3}) [^\r\n]*", trace, re.M)


def message(lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def request(method, branch, call_id, extra=()):
    return message([
        "%s sip:alice@example.com SIP/2.0" % method,
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=%s" % branch,
        "From: <sip:alice@example.com>;tag=t-%s" % call_id,
        "To: <sip:alice@example.com>",
        "Call-ID: %s" % call_id,
        "CSeq: 1 %s" % method,
        *extra,
        "Content-Length: 0",
    ])


def udp_exchange(server, payload, expect_answer=True):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3 if expect_answer else 0.5)
        s.sendto(payload, ("127.0.0.1", server.sip_port))
        try:
            return s.recv(65535).decode()
        except socket.timeout:
            return None


def digest_authorization(challenge, method, uri, user, password, algorithm="SHA-256"):
    """The Authorization answering the offer for `algorithm` in a 401 (RFC 7616 §3.4)."""
    offers = re.findall(r"^WWW-Authenticate: Digest (.*?)\r?$", challenge, re.M)
    offer = next(o for o in offers if "algorithm=%s," % algorithm in o + ",")
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', offer))
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algorithm]
    digest = lambda text: h(text.encode()).hexdigest()
    nc, cnonce = "00000001", os.urandom(4).hex()
    ha1 = digest("%s:%s:%s" % (user, params["realm"], password))
    ha2 = digest("%s:%s" % (method, uri))
    response = digest(":".join([ha1, params["nonce"], nc, cnonce, "auth", ha2]))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
            'algorithm=%s, qop=auth, nc=%s, cnonce="%s", opaque="%s"' % (
                user, params["realm"], params["nonce"], uri, response, algorithm, nc, cnonce,
                params["opaque"]))


class SipMessage:
    def __init__(self, text):
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.start = lines[0]
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())
        self.status = int(self.start.split()[1]) if self.start.startswith("SIP/2.0 ") else None
        self.method = None if self.status else self.start.split()[0]

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def __repr__(self):
        return "%s %r %r" % (self.start, self.headers, self.body)


class Watcher:
    """A subscriber's user agent over UDP or TCP: SUBSCRIBE with digest, one dialog, and every
    NOTIFY answered 200 (RFC 6665 §4.1.3) and kept in `notifies`. `user` is the From and Contact
    user and, unless `auth_user` is given (a device's "user-device"), the digest username."""

    # The dialog's route set and remote target (RFC 3261 §12.1.2) for requests in the dialog,
    # once follow_dialog() took them from the 2xx. Unset, requests in the dialog go to the
    # presentity's URI without Route, which is enough when talking to presenced directly.
    route_set = ()
    remote_target = None

    def __init__(self, server, transport, user, password, event="presence", domain="example.com",
                 auth_user=None, target_domain=None):
        self.server, self.transport, self.user, self.password = server, transport, user, password
        self.event, self.domain = event, domain
        # The presentities' domain, when it is not the watcher's own (federation).
        self.target_domain = target_domain or domain
        self.auth_user = auth_user or user
        if transport == "UDP":
            self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.socket.bind(("127.0.0.1", 0))
        else:
            self.socket = socket.create_connection(("127.0.0.1", server.sip_port), timeout=3)
        self.port = self.socket.getsockname()[1]
        self.buffer = b""
        self.cseq = 0
        self.call_id = "w-%s@127.0.0.1" % os.urandom(6).hex()
        self.tag = os.urandom(4).hex()
        self.to_tag = None
        self.notifies = []

    def close(self):
        self.socket.close()

    def send(self, data):
        if self.transport == "UDP":
            self.socket.sendto(data, ("127.0.0.1", self.server.sip_port))
        else:
            self.socket.sendall(data)

    def receive(self, timeout):
        """The next message, or None after `timeout` seconds."""
        self.socket.settimeout(timeout)
        try:
            if self.transport == "UDP":
                return SipMessage(self.socket.recv(65535).decode())
            while True:
                head, sep, rest = self.buffer.partition(b"\r\n\r\n")
                if sep:
                    length = int((re.search(rb"^Content-Length: *(\d+)", head, re.M | re.I)
                                  or [0, b"0"])[1])
                    if len(rest) >= length:
                        self.buffer = rest[length:]
                        return SipMessage((head + sep + rest[:length]).decode())
                chunk = self.socket.recv(65535)
                if not chunk:
                    return None
                self.buffer += chunk
        except socket.timeout:
            return None

    def answer(self, notify, status=200, reason="OK"):
        lines = ["SIP/2.0 %d %s" % (status, reason)]
        for name in ("Via", "From", "To", "Call-ID", "CSeq"):
            lines += ["%s: %s" % (name, v) for v in notify.headers.get(name.lower(), [])]
        lines.append("Content-Length: 0")
        self.send(message(lines))

    def next(self, timeout=3):
        """The next response; NOTIFYs on the way are answered and kept."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            received = self.receive(max(left, 0.01))
            if received is None or received.status:
                return received
            if received.method == "NOTIFY":
                self.answer(received)
                self.notifies.append(received)

    def wait_notify(self, timeout=3):
        deadline = time.monotonic() + timeout
        while not self.notifies and time.monotonic() < deadline:
            received = self.receive(max(deadline - time.monotonic(), 0.01))
            if received is not None and received.method == "NOTIFY":
                self.answer(received)
                self.notifies.append(received)
        return self.notifies.pop(0) if self.notifies else None

    def subscribe_once(self, target, expires, authorization=None, accept=None):
        self.cseq += 1
        uri = "sip:%s@%s" % (target, self.target_domain)
        to = "<%s>" % uri + (";tag=%s" % self.to_tag if self.to_tag else "")
        in_dialog = self.to_tag is not None
        request_uri = self.remote_target if in_dialog and self.remote_target else uri
        lines = [
            "SUBSCRIBE %s SIP/2.0" % request_uri,
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-%s" % (
                self.transport, self.port, os.urandom(8).hex()),
            *("Route: %s" % route for route in (self.route_set if in_dialog else ())),
            "From: <sip:%s@%s>;tag=%s" % (self.user, self.domain, self.tag),
            "To: %s" % to,
            "Call-ID: %s" % self.call_id,
            "CSeq: %d SUBSCRIBE" % self.cseq,
            "Contact: <sip:%s@127.0.0.1:%d;transport=%s>" % (self.user, self.port,
                                                             self.transport.lower()),
            "Max-Forwards: 70",
            "Event: %s" % self.event,
            "Expires: %d" % expires,
        ]
        if accept:
            lines.append("Accept: " + accept)
        if authorization:
            lines.append("Authorization: " + authorization)
        lines.append("Content-Length: 0")
        self.send(message(lines))
        return self.next(), request_uri

    def subscribe(self, target, expires=600, accept=None):
        """SUBSCRIBE, answering the challenge; returns the final response."""
        challenge, uri = self.subscribe_once(target, expires, accept=accept)
        assert challenge is not None and challenge.status == 401, challenge
        text = "\r\n".join("WWW-Authenticate: %s" % v
                           for v in challenge.headers["www-authenticate"])
        authorization = digest_authorization(text, "SUBSCRIBE", uri, self.auth_user,
                                             self.password)
        answer, _ = self.subscribe_once(target, expires, authorization, accept)
        assert answer is not None, "no answer to the SUBSCRIBE"
        if answer.status == 200 and self.to_tag is None:
            self.to_tag = re.search(r";tag=([^;>\s]+)", answer.header("To")).group(1)
        return answer

    def publish_pidf_once(self, body, expires, authorization=None):
        """One PUBLISH of the user's own presence (RFC 3903 §4.1); returns its final answer."""
        self.cseq += 1
        uri = "sip:%s@%s" % (self.user, self.domain)
        lines = [
            "PUBLISH %s SIP/2.0" % uri,
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-%s" % (
                self.transport, self.port, os.urandom(8).hex()),
            "From: <%s>;tag=%s" % (uri, self.tag),
            "To: <%s>" % uri,
            "Call-ID: pub-%s" % self.call_id,  # not the subscription's dialog
            "CSeq: %d PUBLISH" % self.cseq,
            "Max-Forwards: 70",
            "Event: presence",
            "Expires: %d" % expires,
            "Content-Type: application/pidf+xml",
        ]
        if authorization:
            lines.append("Authorization: " + authorization)
        payload = body.encode()
        lines.append("Content-Length: %d" % len(payload))
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        return self.next(), uri

    def publish_pidf(self, body, expires=60):
        """PUBLISH answering the challenge; returns (challenge, final answer)."""
        challenge, uri = self.publish_pidf_once(body, expires)
        assert challenge is not None and challenge.status == 401, challenge
        text = "\r\n".join("WWW-Authenticate: %s" % v
                           for v in challenge.headers["www-authenticate"])
        authorization = digest_authorization(text, "PUBLISH", uri, self.user, self.password)
        answer, _ = self.publish_pidf_once(body, expires, authorization)
        return challenge, answer

    def follow_dialog(self, answer):
        """Takes the route set (the Record-Route in reverse, RFC 3261 §12.1.2) and the remote
        target (the Contact) from the 2xx that created the dialog, for the requests in it."""
        self.route_set = tuple(reversed(
            [route.strip() for value in answer.headers.get("record-route", [])
             for route in value.split(",")]))
        self.remote_target = re.search(r"<([^>]+)>", answer.header("Contact")).group(1)


def pidf_basic(notify):
    return re.search(r"<basic>(\w+)</basic>", notify.body).group(1)


def pidf_activities(notify):
    found = re.search(r"<rpid:activities>(.*?)</rpid:activities>", notify.body, re.S)
    return re.findall(r"<rpid:([\w-]+)/>", found.group(1)) if found else []


def pidf_document(entity, basic="open", activity=None, note=None):
    """A PIDF body (RFC 3863) with an RPID activity in the person (RFC 4480, RFC 4479)."""
    person = ("<dm:person id=\"p1\"><rpid:activities><rpid:%s/></rpid:activities></dm:person>"
              % activity) if activity else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
            'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" '
            'xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="%s">\n'
            '<tuple id="t1"><status><basic>%s</basic></status></tuple>\n%s%s</presence>\n' % (
                entity, basic, person, "<note>%s</note>" % note if note else ""))


class Publisher(Watcher):
    """A presence publisher's user agent (RFC 3903) over UDP or TCP: each PUBLISH answers the
    digest challenge; `etag` is the SIP-ETag of the last 2xx."""

    etag = None

    def publish_once(self, body, expires, if_match, authorization, event, content_type,
                     target):
        self.cseq += 1
        uri = "sip:%s@%s" % (target or self.user, self.domain)
        lines = [
            "PUBLISH %s SIP/2.0" % uri,
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-%s" % (
                self.transport, self.port, os.urandom(8).hex()),
            "From: <sip:%s@%s>;tag=%s" % (self.user, self.domain, self.tag),
            "To: <%s>" % uri,
            "Call-ID: %s" % self.call_id,
            "CSeq: %d PUBLISH" % self.cseq,
            "Max-Forwards: 70",
            "Event: %s" % event,
        ]
        if expires is not None:
            lines.append("Expires: %d" % expires)
        if if_match:
            lines.append("SIP-If-Match: " + if_match)
        if authorization:
            lines.append("Authorization: " + authorization)
        payload = (body or "").encode()
        if payload:
            lines.append("Content-Type: " + content_type)
        lines.append("Content-Length: %d" % len(payload))
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        return self.next(), uri

    def publish(self, body=None, expires=None, if_match=None, event="presence",
                content_type="application/pidf+xml", target=None):
        """PUBLISH, answering the challenge; returns the final response."""
        challenge, uri = self.publish_once(body, expires, if_match, None, event, content_type,
                                           target)
        assert challenge is not None and challenge.status == 401, challenge
        text = "\r\n".join("WWW-Authenticate: %s" % v
                           for v in challenge.headers["www-authenticate"])
        authorization = digest_authorization(text, "PUBLISH", uri, self.user, self.password)
        answer, _ = self.publish_once(body, expires, if_match, authorization, event,
                                      content_type, target)
        assert answer is not None, "no answer to the PUBLISH"
        if answer.status == 200 and answer.header("SIP-ETag"):
            self.etag = answer.header("SIP-ETag")
        return answer
