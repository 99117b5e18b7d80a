"""baresip 1.0 (Debian baresip-core, presence module) as a real softphone against presenced.

baresip runs with its own config dir (config, accounts, contacts files) on free ports, no
audio modules and no registration (presenced answers REGISTER with 405, so regint=0); it is
driven and read over ctrl_tcp (JSON in netstrings). Its account alice has bob as a contact with
presence=p2p, so it subscribes to bob's presence. libre 1.1 (baresip's SIP stack) gives up on a
401 that offers SHA-256 at all (first or not), so presenced runs with
--sip-md5-only-user-agents '^baresip'. baresip reaches presenced both through Kamailio with
integrations/kamailio/presence-proxy.cfg as its outbound proxy and directly.
"""

import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import free_ports
from presenced_fixture import poll
from kamailio_process import KAMAILIO, stop_group
from presence_proxy import (DOMAIN, PresenceProxy, require, set_manual, signed_in,
                            start_presenced)
from sip_client import free_port


def free_sip_port():
    """A port P free for UDP and TCP whose P+1 is free too: baresip 1.0 opens its TLS
    transport on the next port and gives up when that one is taken (it was, once, in CI)."""
    return free_ports.free_port(udp=True, tcp=True, span=2)

BARESIP = shutil.which("baresip")
MODULES = "/usr/lib/baresip/modules"
SIP_PASSWORD = "sip-secret-baresip"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Baresip:
    """One baresip process with account alice and contact bob (presence=p2p), whose outbound
    proxy is `outbound_port` on 127.0.0.1; pubint is its PUBLISH interval (0: never)."""

    def __init__(self, workdir, outbound_port, pubint=0):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ctrl_port = free_port()
        (self.dir / "config").write_text(
            "poll_method\tepoll\n"
            "sip_listen\t127.0.0.1:%d\n"
            "module_path\t%s\n"
            "module_tmp\taccount.so\n"
            "module_app\tcontact.so\n"
            "module_app\tpresence.so\n"
            "module_app\tctrl_tcp.so\n"
            "ctrl_tcp_listen\t127.0.0.1:%d\n" % (free_sip_port(), MODULES, self.ctrl_port))
        (self.dir / "accounts").write_text(
            '<sip:alice@%s>;auth_pass=%s;outbound="sip:127.0.0.1:%d";regint=0;pubint=%d\n'
            % (DOMAIN, SIP_PASSWORD, outbound_port, pubint))
        (self.dir / "contacts").write_text('"Bob" <sip:bob@%s>;presence=p2p\n' % DOMAIN)
        self.log_path = self.dir / "baresip.log"
        with open(self.log_path, "w") as log:
            # -s: the SIP trace goes to the log, shown when a test fails.
            self.process = subprocess.Popen([BARESIP, "-f", str(self.dir), "-s"], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        self.control = self.connect()
        self.buffer = b""
        self.token = 0

    def connect(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                return socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=3)
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("baresip did not open ctrl_tcp:\n" + self.log())

    def netstring(self):
        while True:
            length, colon, rest = self.buffer.partition(b":")
            if colon and len(rest) > int(length):
                self.buffer = rest[int(length) + 1:]  # the payload and its ","
                return json.loads(rest[:int(length)])
            chunk = self.control.recv(65535)
            assert chunk, "baresip closed ctrl_tcp"
            self.buffer += chunk

    def command(self, name, params=""):
        """Runs a command; returns its output (events on the way are skipped)."""
        self.token += 1
        token = str(self.token)
        body = json.dumps({"command": name, "params": params, "token": token}).encode()
        self.control.sendall(b"%d:%s," % (len(body), body))
        while True:
            answer = self.netstring()
            if answer.get("response") and answer.get("token") == token:
                assert answer.get("ok"), answer
                return answer.get("data", "")

    def contact_status(self, uri):
        """The presence baresip shows for a contact: Unknown, Online, Busy or Offline."""
        for line in ANSI.sub("", self.command("contacts")).splitlines():
            match = re.search(r"(\w+) [^<]*<%s>" % re.escape(uri), line)
            if match:
                return match.group(1)
        return None

    def wait_status(self, uri, status, timeout=3):
        return poll(lambda: self.contact_status(uri), lambda s: s == status, timeout=timeout,
                    interval=0.1)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_group(self.process)


@pytest.fixture
def system(tmp_path):
    """presenced with alice and bob, and the presence proxy in front of it for baresip."""
    require({"baresip (Debian baresip-core)": BARESIP, "kamailio": KAMAILIO})
    server, admin = start_presenced(tmp_path / "data", {"alice": SIP_PASSWORD,
                                                        "bob": SIP_PASSWORD},
                                    ["--sip-md5-only-user-agents", "^baresip"])
    processes = []
    try:
        processes.append(PresenceProxy(tmp_path / "kamailio", server.sip_port))
        yield server, admin, processes[0], processes
    finally:
        for process in reversed(processes):
            process.stop()
        # Captured output: pytest shows it only when the test failed.
        for process in processes:
            print("---- %s ----\n%s" % (type(process).__name__, process.log()))
        server.kill()


BOB = "sip:bob@" + DOMAIN


def test_baresip_subscribes_and_shows_rest_changes(system, tmp_path):
    server, _, proxy, processes = system
    phone = Baresip(tmp_path / "baresip", proxy.sip_port)
    processes.append(phone)
    # Its subscription was accepted and the first NOTIFY read: bob has no session (closed).
    assert phone.wait_status(BOB, "Offline", timeout=5) == "Offline", phone.log()
    bob = signed_in(server, "bob")

    # Each REST change reaches the softphone's contact list: DoNotDisturb as <rpid:busy/>,
    # Available as open, Away as <rpid:away/> (which baresip shows as Offline).
    for state, shown in (("DoNotDisturb", "Busy"), ("Available", "Online"),
                         ("Away", "Offline"), ("Busy", "Busy")):
        changed_at = time.monotonic()
        set_manual(bob, "bob", state)
        assert phone.wait_status(BOB, shown) == shown, "%s not shown as %s" % (state, shown)
        print("%s shown as %s after %.0f ms" % (state, shown,
                                                 (time.monotonic() - changed_at) * 1000))


def test_baresip_publishes_its_own_state(system, tmp_path):
    server, admin, proxy, processes = system
    phone = Baresip(tmp_path / "baresip", proxy.sip_port, pubint=60)
    processes.append(phone)

    def alice():
        answer = admin.get("/api/v1/users/alice/presence")
        assert answer.status_code == 200, answer.text
        return answer.json()["availability"]

    # baresip's presence module publishes <basic>open</basic> or closed (RFC 3863, RFC 3903
    # §4.1) when told; presenced reads open as Available and closed as Offline.
    phone.command("presence_online")
    assert poll(alice, lambda a: a == "Available", timeout=3) == "Available", phone.log()
    phone.command("presence_offline")
    assert poll(alice, lambda a: a == "Offline", timeout=3) == "Offline", phone.log()


def test_baresip_subscribes_to_presenced_directly(system, tmp_path):
    server, _, _, processes = system
    phone = Baresip(tmp_path / "baresip", server.sip_port)
    processes.append(phone)
    assert phone.wait_status(BOB, "Offline", timeout=5) == "Offline"
