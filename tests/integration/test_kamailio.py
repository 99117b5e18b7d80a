"""presenced routes calls through a real Kamailio 5.6 (integrations/kamailio) to real SIP UAs.

Each test starts presenced, Kamailio and sipp phones on 127.0.0.1 with free ports, places calls
with sipp and asserts on what the phones received: which INVITEs arrived where, when, with which
headers, and which final answer the caller got. Phones: device DEVICE of user USER registers as
AOR USER-DEVICE (a third-party REGISTER, sip/register.xml), and answers or rings with
sip/phone_*.xml. Kamailio reports every call to presenced's telephony events.
"""

import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

import free_ports
from kamailio_process import KAMAILIO, KamailioProcess, stop_group
from presenced_fixture import ADMIN_PASSWORD, Client, Presenced, Watcher, bearer, poll

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "integrations" / "kamailio" / "kamailio.cfg"
SCRIPT = ROOT / "integrations" / "kamailio" / "presenced.js"
SCENARIOS = Path(__file__).resolve().parent / "sip"
SIPP = shutil.which("sipp")
PASSWORD = "pw-kamailio-test"

# Kamailio's timers tick every 100 ms and sipp's pauses are not exact: time assertions allow this.
TOLERANCE_S = 0.4


@pytest.fixture(scope="module", autouse=True)
def tools():
    missing = [name for name, path in (("kamailio", KAMAILIO), ("sipp", SIPP)) if path is None]
    if missing:
        message = ("%s not installed (Debian packages kamailio, kamailio-utils-modules, "
                   "kamailio-json-modules, sip-tester)" % " and ".join(missing))
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def free_port():
    return free_ports.free_port(udp=True, tcp=False)


class Kamailio(KamailioProcess):
    """Kamailio with kamailio.cfg on a free UDP port, asking presenced at presenced_url."""

    def __init__(self, workdir, presenced_url, token):
        super().__init__(workdir, CONFIG, free_port(), [
            'PRESENCED_URL="%s"' % presenced_url, 'PRESENCED_TOKEN="%s"' % token,
            'SCRIPT="%s"' % SCRIPT, 'SIP_DOMAIN="127.0.0.1"', "WITH_DEBUG"], shm_mb=64)


MESSAGE_HEAD = re.compile(r"^-{47} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n(UDP message (sent|received)"
                          r"[^\n]*\n\n)", re.M)


class Sipp:
    """One sipp process; its message trace tells what it sent and received, and when."""

    def __init__(self, workdir, name, arguments, port=None):
        self.name = name
        self.port = port or free_port()
        self.trace = Path(workdir) / (name + ".msg")
        command = [SIPP, "-i", "127.0.0.1", "-p", str(self.port),
                   "-mp", str(free_ports.free_media_port()), "-nostdin", "-trace_msg",
                   "-message_file", str(self.trace), *arguments]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                        start_new_session=True, cwd=str(workdir))

    def messages(self):
        """[(time, "sent"|"received", text)] in order."""
        if not self.trace.exists():
            return []
        text = self.trace.read_text(errors="replace")
        heads = list(MESSAGE_HEAD.finditer(text))
        out = []
        for i, head in enumerate(heads):
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            when = datetime.strptime(head.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            out.append((when, head.group(3), text[head.end():end].strip()))
        return out

    def received(self, first_line_prefix):
        return [(when, text) for when, way, text in self.messages()
                if way == "received" and text.startswith(first_line_prefix)]

    def wait(self, timeout):
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        stop_group(self.process)


class Pbx:
    """presenced + Kamailio + the phones and calls of one test; stop() ends every process."""

    def __init__(self, tmp_path):
        self.tmp = Path(tmp_path)
        self.processes = []
        self.kamailio = None
        self.users = {}
        self.server = Presenced(self.tmp / "data")
        try:
            self.admin = Client(self.server.url).login("admin", ADMIN_PASSWORD)
            self.admin.add_user("pbx", role="system")
            token = bearer(self.admin, "pbx").token
            self.kamailio = Kamailio(self.tmp / "kamailio", self.server.url, token)
        except BaseException:
            self.server.kill()
            raise

    def user(self, user_id):
        """A presenced user and a client holding their token."""
        if user_id not in self.users:
            self.admin.add_user(user_id, password=PASSWORD)
            self.users[user_id] = bearer(self.admin, user_id)
        return self.users[user_id]

    def phone(self, user_id, device, scenario="phone_ring.xml"):
        """Device `device` of user_id: known to presenced, and a registered sipp phone."""
        self.user(user_id)
        answer = self.admin.post("/api/v1/users/%s/devices" % user_id, {"device": device})
        assert answer.status_code == 201, answer.text
        return self.ua("%s-%s" % (user_id, device), scenario)

    def ua(self, aor, scenario="phone_ring.xml"):
        """A sipp UA listening for calls and registered as aor."""
        phone = self.sipp(aor, ["-sf", str(SCENARIOS / scenario)])
        register = self.sipp(aor + ".register", [
            "-sf", str(SCENARIOS / "register.xml"), "-set", "aor", aor,
            "-set", "port", str(phone.port), "-m", "1", "127.0.0.1:%d" % self.kamailio.port])
        assert register.wait(10) == 0, "REGISTER of %s failed:\n%s" % (
            aor, "\n".join(text for _, _, text in register.messages()))
        return phone

    def call(self, caller_aor, dialled, scenario, duration_ms):
        """A sipp call from caller_aor to dialled, running in the background; duration_ms is
        how long it rings (call_cancel.xml) or talks (call_talk.xml)."""
        extra = []
        if scenario == "call_cancel.xml":
            extra = ["-default_behaviors", "bye,pingreply"]  # see the scenario
        return self.sipp("call-%s-%s-%d" % (caller_aor, dialled, len(self.processes)), [
            "-sf", str(SCENARIOS / scenario), "-set", "from", caller_aor, "-s", dialled,
            "-d", str(duration_ms), "-m", "1", *extra, "127.0.0.1:%d" % self.kamailio.port])

    def sipp(self, name, arguments):
        process = Sipp(self.tmp, name, arguments)
        self.processes.append(process)
        return process

    def settings(self, user_id, body):
        answer = self.admin.put("/api/v1/users/%s/call-settings" % user_id, body)
        assert answer.status_code == 200, answer.text

    def presence(self, user_id):
        answer = self.admin.get("/api/v1/users/%s/presence" % user_id)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def stop(self):
        for process in self.processes:
            process.stop()
        if self.kamailio is not None:
            self.kamailio.stop()
        self.server.kill()

    def diagnostics(self):
        parts = ["---- kamailio log ----", self.kamailio.log() if self.kamailio else ""]
        for process in self.processes:
            parts.append("---- %s ----" % process.name)
            parts.extend(text for _, _, text in process.messages())
        return "\n".join(parts)


@pytest.fixture
def pbx(tmp_path):
    system = Pbx(tmp_path)
    yield system
    system.stop()
    # Captured output: pytest shows it only when the test failed.
    print(system.diagnostics())


def invites(ua):
    return ua.received("INVITE ")


def wait_for(read, timeout, what):
    value = poll(read, bool, timeout=timeout, interval=0.05)
    assert value, "timed out waiting for " + what
    return value


def assert_rang_then_cancelled(call, timeout=20):
    """The caller heard ringing, hung up, and got 487 for its INVITE (RFC 3261 §9.1)."""
    assert call.wait(timeout) == 0, "the call did not end as scripted"
    assert call.received("SIP/2.0 180"), "the caller heard no ringing"
    assert call.received("SIP/2.0 487"), "the INVITE did not end with 487 after the CANCEL"


def header(message, name):
    match = re.search(r"^%s:\s*(.*)$" % re.escape(name), message, re.M | re.I)
    return match.group(1).strip() if match else None


# ---- a. Do not disturb sends the call to voicemail ----

def test_dnd_sends_the_call_to_voicemail(pbx):
    desk = pbx.phone("alice", "desk")
    mailbox = pbx.ua("voicemail")
    pbx.phone("carol", "desk")
    alice = pbx.users["alice"]
    answer = alice.put("/api/v1/users/alice/presence/manual", {"state": "DoNotDisturb"})
    assert answer.status_code == 200, answer.text

    call = pbx.call("carol-desk", "alice", "call_cancel.xml", 1000)
    assert_rang_then_cancelled(call)

    received = invites(mailbox)
    assert len(received) == 1, "the voicemail box got %d INVITEs" % len(received)
    diversion = header(received[0][1], "Diversion")
    assert diversion == "<sip:alice@127.0.0.1>;reason=do-not-disturb", diversion
    assert header(received[0][1], "X-Presenced-Reason") == "do_not_disturb"
    assert invites(desk) == [], "alice's desk phone rang despite DoNotDisturb"


# ---- b. Staggered ringing ----

def test_staggered_ringing_adds_the_second_device_after_its_delay(pbx):
    desk = pbx.phone("alice", "desk")
    mobile = pbx.phone("alice", "mobile")
    pbx.phone("carol", "desk")
    pbx.settings("alice", {"personal_routing": {"staggered": [
        {"device": "desk", "delay_s": 0}, {"device": "mobile", "delay_s": 3}]}})

    call = pbx.call("carol-desk", "alice", "call_cancel.xml", 4500)
    assert_rang_then_cancelled(call)

    first, second = invites(desk), invites(mobile)
    assert len(first) == 1 and len(second) == 1, (len(first), len(second))
    gap = second[0][0] - first[0][0]
    assert 3 - TOLERANCE_S <= gap <= 3 + 1.0, "mobile rang %.2f s after desk" % gap
    # Both belong to the same call, and desk was still ringing when mobile started: its
    # CANCEL came only when the caller hung up.
    assert header(first[0][1], "Call-ID") == header(second[0][1], "Call-ID")
    cancels = desk.received("CANCEL ")
    assert cancels and cancels[0][0] > second[0][0], "desk stopped ringing before mobile rang"


# ---- c. Busy on busy ----

def test_busy_on_busy_rejects_a_second_call_while_one_is_connected(pbx):
    desk = pbx.phone("alice", "desk", "phone_answer.xml")
    pbx.phone("carol", "desk")
    pbx.phone("dave", "desk")
    pbx.settings("alice", {"busy_on_busy": True})

    first = pbx.call("carol-desk", "alice", "call_talk.xml", 5000)
    # Kamailio reported the answered call to presenced.
    wait_for(lambda: "call" in pbx.presence("alice")["flags"], 5, "alice's connected call")

    second = pbx.call("dave-desk", "alice", "call_busy.xml", 1000)
    assert second.wait(10) == 0, "the second call did not get 486 Busy Here"
    assert len(second.received("SIP/2.0 486")) >= 1
    assert len(invites(desk)) == 1, "the second call rang alice's phone"
    assert first.wait(15) == 0, "the first call was not answered and hung up cleanly"


# ---- d. Forwarding on no answer ----

def test_no_answer_forwards_to_a_colleague_after_the_timeout(pbx):
    desk = pbx.phone("alice", "desk")
    colleague = pbx.phone("bob", "desk")
    pbx.phone("carol", "desk")
    pbx.settings("alice", {"forwarding": {"mode": "failover", "destination": "bob",
                                          "on_no_answer": True, "no_answer_s": 2}})

    call = pbx.call("carol-desk", "alice", "call_cancel.xml", 3500)
    assert_rang_then_cancelled(call)

    first, forwarded = invites(desk), invites(colleague)
    assert len(first) == 1 and len(forwarded) == 1, (len(first), len(forwarded))
    gap = forwarded[0][0] - first[0][0]
    assert 2 - TOLERANCE_S <= gap <= 2 + 1.0, "bob rang %.2f s after alice" % gap
    assert header(forwarded[0][1], "Diversion") == "<sip:alice@127.0.0.1>;reason=no-answer"
    cancels = desk.received("CANCEL ")
    assert cancels and cancels[0][0] <= forwarded[0][0] + TOLERANCE_S, \
        "alice's phone kept ringing after the call was forwarded"


# ---- e. Queues ring only the agents their presence admits ----

def test_queue_rings_only_admitted_members(pbx):
    phones = {user: pbx.phone(user, "desk") for user in ("bob", "carol", "dave")}
    pbx.phone("erin", "desk")
    for user, state in (("bob", "Available"), ("carol", "DoNotDisturb"), ("dave", "Away")):
        answer = pbx.users[user].put("/api/v1/users/%s/presence/manual" % user, {"state": state})
        assert answer.status_code == 200, answer.text
    answer = pbx.admin.put("/api/v1/queues/support", {
        "members": ["bob", "carol", "dave"], "presence_based": True,
        "availabilities": ["Available"], "activities": [], "strategy": "ring_all",
        "agent_ring_s": 15})
    assert answer.status_code in (200, 201), answer.text

    call = pbx.call("erin-desk", "queue-support", "call_cancel.xml", 1500)
    assert_rang_then_cancelled(call)

    assert len(invites(phones["bob"])) == 1, "the Available member did not ring"
    assert invites(phones["carol"]) == [], "the DoNotDisturb member rang"
    assert invites(phones["dave"]) == [], "the Away member rang"


# ---- f. A watcher sees the call ----

def test_watcher_sees_the_callee_in_a_call_and_back(pbx):
    pbx.phone("alice", "desk", "phone_answer.xml")
    pbx.phone("carol", "desk")
    pbx.user("bob")
    session = Watcher(pbx.server, pbx.users["alice"].token)  # alice is signed in: Available
    watcher = Watcher(pbx.server, pbx.users["bob"].token)
    try:
        watcher.subscribe("alice")
        watcher.presence_of("alice", availability="Available")

        call = pbx.call("carol-desk", "alice", "call_talk.xml", 2000)
        watcher.presence_of("alice", timeout=5, availability="Busy", activity="InACall")
        # Ringing first, then connected: the "call" flag comes with the answer.
        watcher.wait_for(lambda m: m.get("type") == "presence" and m.get("user") == "alice"
                         and "call" in m.get("flags", []), timeout=5)
        # The caller is a known user too (From carol-desk): carol is on the call as well.
        wait_for(lambda: pbx.presence("carol")["activity"] == "InACall", 5, "carol's call")
        assert call.wait(15) == 0, "the call was not answered and hung up cleanly"
        watcher.presence_of("alice", timeout=5, availability="Available")
        carol = poll(lambda: pbx.presence("carol"), lambda p: p["activity"] != "InACall")
        assert carol["activity"] != "InACall", carol
    finally:
        watcher.close()
        session.close()


# ---- g. Find me/follow me rings a number at the gateway ----

def test_find_me_rings_the_number_at_the_gateway_after_its_delay(pbx):
    desk = pbx.phone("alice", "desk")
    gateway = pbx.ua("gateway")
    pbx.phone("carol", "desk")
    # The admin's automatic action for states of type xa, and alice's follow-me number.
    answer = pbx.admin.put("/api/v1/routing/state-actions", {"xa": "find_me"})
    assert answer.status_code == 200, answer.text
    answer = pbx.admin.put("/api/v1/states/travel", {"type": "xa", "message": "Travelling"})
    assert answer.status_code in (200, 201), answer.text
    pbx.settings("alice", {"find_me": [{"destination": "+4917099", "delay_s": 2}]})
    answer = pbx.users["alice"].put("/api/v1/users/alice/presence/manual", {"state": "travel"})
    assert answer.status_code == 200, answer.text

    call = pbx.call("carol-desk", "alice", "call_cancel.xml", 3000)
    assert_rang_then_cancelled(call)

    first, number = invites(desk), invites(gateway)
    assert len(first) == 1 and len(number) == 1, (len(first), len(number))
    request_line = number[0][1].splitlines()[0]
    assert re.fullmatch(r"INVITE sip:\+4917099@127\.0\.0\.1:\d+ SIP/2\.0", request_line), \
        request_line
    gap = number[0][0] - first[0][0]
    assert 2 - TOLERANCE_S <= gap <= 2 + 1.0, "the number rang %.2f s after desk" % gap
    # One call: the desk phone kept ringing alongside the number until the caller hung up.
    assert header(first[0][1], "Call-ID") == header(number[0][1], "Call-ID")
    cancels = desk.received("CANCEL ")
    assert cancels and cancels[0][0] > number[0][0], "desk stopped ringing before the number rang"


# ---- h. Caller id of forwarded calls ----

def test_forward_on_no_answer_can_present_the_callee(pbx):
    desk = pbx.phone("alice", "desk")
    colleague = pbx.phone("bob", "desk", "phone_answer.xml")
    pbx.phone("carol", "desk")
    pbx.settings("alice", {"forwarding": {"mode": "failover", "destination": "bob",
                                          "on_no_answer": True, "no_answer_s": 1,
                                          "show_original_caller": False}})

    call = pbx.call("carol-desk", "alice", "call_talk.xml", 1000)
    assert call.wait(15) == 0, "the forwarded call was not answered and hung up cleanly"

    rang, forwarded = invites(desk), invites(colleague)
    assert len(rang) == 1 and len(forwarded) == 1, (len(rang), len(forwarded))
    # alice's own phone saw the caller; bob's sees alice, in From and P-Asserted-Identity
    # (RFC 3325 §9.1), with the Diversion saying why.
    assert header(rang[0][1], "From").startswith("<sip:carol-desk@127.0.0.1>;tag=")
    invite = forwarded[0][1]
    assert re.fullmatch(r'"alice" ?<sip:alice@127\.0\.0\.1>;tag=\S+', header(invite, "From")), \
        header(invite, "From")
    assert header(invite, "P-Asserted-Identity") == '"alice" <sip:alice@127.0.0.1>'
    assert header(invite, "Diversion") == "<sip:alice@127.0.0.1>;reason=no-answer"
    # The dialog stays consistent on both sides: the caller's BYE reaches bob from alice too,
    # and the caller's answers carry its own From back (RFC 3261 §12.2.1.1, §8.2.6.2).
    byes = colleague.received("BYE ")
    assert byes and "sip:alice@127.0.0.1" in header(byes[0][1], "From"), byes
    answered = call.received("SIP/2.0 200")
    assert answered and header(answered[0][1], "From").startswith("<sip:carol-desk@127.0.0.1>"), \
        answered


def test_forward_keeps_the_original_caller_when_asked(pbx):
    pbx.phone("alice", "desk")
    colleague = pbx.phone("bob", "desk")
    pbx.phone("carol", "desk")
    pbx.settings("alice", {"forwarding": {"mode": "always", "destination": "bob",
                                          "show_original_caller": True}})

    call = pbx.call("carol-desk", "alice", "call_cancel.xml", 1000)
    assert_rang_then_cancelled(call)

    forwarded = invites(colleague)
    assert len(forwarded) == 1, "bob got %d INVITEs" % len(forwarded)
    invite = forwarded[0][1]
    assert header(invite, "From").startswith("<sip:carol-desk@127.0.0.1>;tag="), \
        header(invite, "From")
    assert header(invite, "P-Asserted-Identity") is None
    assert header(invite, "Diversion") == "<sip:alice@127.0.0.1>;reason=unconditional"


# ---- i. A held call is reported as held ----

def test_hold_and_resume_are_reported(pbx):
    phone = pbx.phone("alice", "desk", "phone_hold.xml")
    pbx.phone("carol", "desk")

    def calls(user):
        answer = pbx.admin.get("/api/v1/users/%s/layers" % user)
        assert answer.status_code == 200, answer.text
        return sorted(c["state"] for c in answer.json()["telephony"])

    def both(state):
        return calls("alice") == [state] and calls("carol") == [state]

    # Talks 1 s, holds 1.5 s (a=sendonly), talks 1 s again (a=sendrecv), hangs up.
    call = pbx.call("carol-desk", "alice", "call_hold.xml", 1000)
    wait_for(lambda: both("connected"), 5, "the answered call")
    wait_for(lambda: both("held"), 5, "the call on hold")
    wait_for(lambda: both("connected"), 5, "the resumed call")
    assert call.wait(15) == 0, "the call was not held, resumed and hung up cleanly"
    wait_for(lambda: calls("alice") == [] and calls("carol") == [], 5, "the end of the call")
    offers = phone.received("INVITE ")
    assert len(offers) == 3, "alice's phone got %d INVITEs" % len(offers)
    assert "a=sendonly" in offers[1][1] and "a=sendrecv" in offers[2][1]
