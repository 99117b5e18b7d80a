"""presenced with its SIP listener, and Kamailio in front of it as the presence proxy
(integrations/kamailio/presence-proxy.cfg), both real processes on 127.0.0.1 with free ports,
for the interop tests that put a proxy between a SIP client and presenced.
"""

import os
import re
from pathlib import Path

import pytest

from kamailio_process import KamailioProcess
from presenced_fixture import ADMIN_PASSWORD, Client, Presenced
from sip_client import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "integrations" / "kamailio" / "presence-proxy.cfg"
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


class PresenceProxy(KamailioProcess):
    """Kamailio with presence-proxy.cfg on a free port (UDP and TCP), forwarding the presence
    domain to presenced_sip_port over presenced_transport. `sip_port` is its port, so SIP
    clients of sip_client.py take it in place of a server."""

    def __init__(self, workdir, presenced_sip_port, defines=(), presenced_transport="udp"):
        self.sip_port = free_port()
        super().__init__(workdir, CONFIG, self.sip_port, [
            'PRESENCED_SIP="sip:127.0.0.1:%d;transport=%s"' % (presenced_sip_port,
                                                               presenced_transport),
            'PRESENCE_DOMAIN="%s"' % DOMAIN, "WITH_DEBUG", *defines], tcp=True)

