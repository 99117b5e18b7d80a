"""presenced with its SIP listener, and Kamailio in front of it as the presence proxy
(integrations/kamailio/presence-proxy.cfg), both real processes on 127.0.0.1 with free ports,
for the interop tests that put a proxy between a SIP client and presenced.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from presenced_fixture import ADMIN_PASSWORD, Client, Presenced
from sip_client import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "integrations" / "kamailio" / "presence-proxy.cfg"
KAMAILIO = shutil.which("kamailio") or (
    "/usr/sbin/kamailio" if os.access("/usr/sbin/kamailio", os.X_OK) else None)
DOMAIN = "example.com"


def require(tools):
    """Skips the test (fails it in CI) when one of {name: path or None} is not installed."""
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        message = "%s not installed (see scripts/setup)" % " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def login_password(user):
    """The REST password of a user made by start_presenced."""
    return "pw-" + user + "-login"


def start_presenced(data_dir, users, extra_args=()):
    """presenced with SIP on a free port for DOMAIN, and {user: sip_password} created;
    returns (server, admin client). server.sip_port is the SIP port."""
    server = Presenced(data_dir, extra_args=["--sip", "127.0.0.1:0", "--domain", DOMAIN,
                                             *extra_args])
    try:
        listening = next(re.search(r"listening on sip:127\.0\.0\.1:(\d+)", line)
                         for line in server.log if "listening on sip:" in line)
        server.sip_port = int(listening.group(1))
        admin = Client(server.url).login("admin", ADMIN_PASSWORD)
        for user, sip_password in users.items():
            admin.add_user(user, password=login_password(user), sip_password=sip_password)
    except BaseException:
        server.kill()
        raise
    return server, admin


def signed_in(server, user):
    """A REST client of a user made by start_presenced."""
    return Client(server.url).login(user, login_password(user))


def set_manual(client, user, state):
    answer = client.put("/api/v1/users/%s/presence/manual" % user, {"state": state})
    assert answer.status_code == 200, answer.text


def stop_group(process, timeout=5):
    """SIGTERM to the process group started for process, SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass


class PresenceProxy:
    """Kamailio in the foreground with presence-proxy.cfg on a free port (UDP and TCP),
    forwarding the presence domain to presenced_sip_port over presenced_transport. `sip_port`
    is its port, so SIP clients of sip_client.py take it in place of a server."""

    def __init__(self, workdir, presenced_sip_port, defines=(), presenced_transport="udp"):
        self.sip_port = free_port()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "kamailio.log"
        command = [
            KAMAILIO, "-f", str(CONFIG), "-DD", "-E",
            "-l", "udp:127.0.0.1:%d" % self.sip_port, "-l", "tcp:127.0.0.1:%d" % self.sip_port,
            "-Y", str(self.workdir), "-P", str(self.workdir / "kamailio.pid"),
            "-w", str(self.workdir), "-m", "32", "-M", "8",
            "-A", 'PRESENCED_SIP="sip:127.0.0.1:%d;transport=%s"' % (presenced_sip_port,
                                                                   presenced_transport),
            "-A", 'PRESENCE_DOMAIN="%s"' % DOMAIN,
            "-A", "WITH_DEBUG",
        ]
        for define in defines:
            command += ["-A", define]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout=10):
        """Until Kamailio answers an OPTIONS on its port."""
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            probe.settimeout(0.2)
            local = probe.getsockname()[1]
            while time.monotonic() < deadline and self.process.poll() is None:
                options = ("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-ready-%f\r\n"
                           "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                           "Call-ID: ready-%f\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                           "Content-Length: 0\r\n\r\n" % (self.sip_port, local, time.time(),
                                                          time.time()))
                probe.sendto(options.encode(), ("127.0.0.1", self.sip_port))
                try:
                    if probe.recv(4096).startswith(b"SIP/2.0 200"):
                        return
                except socket.timeout:
                    continue
        self.stop()
        raise RuntimeError("Kamailio did not start:\n" + self.log())

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_group(self.process)
