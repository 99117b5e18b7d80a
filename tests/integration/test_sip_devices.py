"""Per-device SIP passwords (docs/sip.md, "Authentication"), the SIP metrics of GET /metrics and
the SIP flags (docs/configuration.md), against a real presenced started with --sip 127.0.0.1:0
and flags away from their defaults. A phone signs in as "user-device" with its device's secret
and acts as the user; the user's own sip_password keeps working.
"""

import re
import subprocess
import threading

import pytest

from presenced_fixture import ADMIN_PASSWORD, PRESENCED, Client, Presenced, assert_error, poll
from sip_client import Watcher

USER_SECRET = "user-secret-1"
DESK_SECRET = "desk-secret-1"
MIN_EXPIRES = 120
MAX_EXPIRES = 1800


@pytest.fixture(scope="module")
def sip(tmp_path_factory):
    server = Presenced(tmp_path_factory.mktemp("sip-devices"),
                       extra_args=["--sip", "127.0.0.1:0", "--domain", "example.com",
                                   "--sip-min-expires", str(MIN_EXPIRES),
                                   "--sip-max-expires", str(MAX_EXPIRES),
                                   "--sip-default-expires", "900"])
    match = next(re.search(r"listening on sip:127\.0\.0\.1:(\d+)", line)
                 for line in server.log if "listening on sip:" in line)
    server.sip_port = int(match.group(1))
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def admin(sip):
    client = Client(sip.url)
    client.login("admin", ADMIN_PASSWORD)
    for user in ("alice", "bob"):
        client.add_user(user, sip_password=USER_SECRET)
    add_device(client, "alice", "desk", sip_password=DESK_SECRET)
    return client


def add_device(client, user, device, status=201, **fields):
    answer = client.post("/api/v1/users/%s/devices" % user, {"device": device, **fields})
    assert answer.status_code == status, answer.text
    return answer.json()


def subscribe_status(sip, user, password, transport="UDP", auth_user=None, target="bob",
                     expires=600):
    phone = Watcher(sip, transport, user, password, auth_user=auth_user)
    try:
        return phone.subscribe(target, expires=expires)
    finally:
        phone.close()


@pytest.fixture(params=["UDP", "TCP"])
def transport(request):
    return request.param


# ---- Device credentials ----

def test_device_password_subscribes_as_its_user(sip, admin, transport):
    phone = Watcher(sip, transport, "alice-desk", DESK_SECRET)
    try:
        answer = phone.subscribe("bob")
        assert answer.status == 200, answer
        notify = phone.wait_notify()
        assert notify is not None and "<presence" in notify.body
    finally:
        phone.close()
    # The phone may say it is alice in From and sign in with its device username.
    answer = subscribe_status(sip, "alice", DESK_SECRET, transport, auth_user="alice-desk")
    assert answer.status == 200, answer


def test_user_password_still_works(sip, admin, transport):
    assert subscribe_status(sip, "alice", USER_SECRET, transport).status == 200


def test_wrong_device_password_gets_403(sip, admin):
    assert subscribe_status(sip, "alice-desk", "not-the-secret").status == 403
    # Neither secret opens the other's username.
    assert subscribe_status(sip, "alice-desk", USER_SECRET).status == 403
    assert subscribe_status(sip, "alice", DESK_SECRET).status == 403


def test_deleted_device_gets_403_at_once(sip, admin):
    add_device(admin, "alice", "old-phone", sip_password="old-secret")
    assert subscribe_status(sip, "alice-old-phone", "old-secret").status == 200
    answer = admin.delete("/api/v1/users/alice/devices/old-phone")
    assert answer.status_code == 204, answer.text
    assert subscribe_status(sip, "alice-old-phone", "old-secret").status == 403


def test_removed_device_secret_and_deleted_user_get_403(sip, admin):
    admin.add_user("dave", sip_password=USER_SECRET)
    add_device(admin, "dave", "desk", sip_password="dave-desk")
    assert subscribe_status(sip, "dave-desk", "dave-desk").status == 200
    add_device(admin, "dave", "desk", sip_password="")
    assert subscribe_status(sip, "dave-desk", "dave-desk").status == 403
    add_device(admin, "dave", "desk", sip_password="dave-desk")
    assert admin.delete("/api/v1/users/dave").status_code == 204
    assert subscribe_status(sip, "dave-desk", "dave-desk").status == 403


def test_listings_show_has_sip_password_never_the_secret(sip, admin):
    add_device(admin, "alice", "softphone", label="Laptop")
    # A new label keeps the secret; only "" removes it.
    relabelled = add_device(admin, "alice", "desk", label="Desk, 2nd floor")
    assert relabelled == {"device": "desk", "label": "Desk, 2nd floor", "has_sip_password": True}
    answer = admin.get("/api/v1/users/alice/devices")
    assert answer.status_code == 200, answer.text
    devices = {d["device"]: d for d in answer.json()["devices"]}
    assert devices["desk"]["has_sip_password"] is True
    assert devices["softphone"]["has_sip_password"] is False
    assert DESK_SECRET not in answer.text
    assert subscribe_status(sip, "alice-desk", DESK_SECRET).status == 200


def test_a_sip_username_with_two_meanings_is_refused_with_409(sip, admin):
    for user in ("erin", "erin-lab", "frank"):
        admin.add_user(user, sip_password=USER_SECRET)
    # "erin-lab" is a user: erin's device "lab" cannot take that username.
    assert_error(admin.post("/api/v1/users/erin/devices", {"device": "lab",
                                                          "sip_password": "x"}), 409, "conflict")
    # Without a secret the device has no username and reserves nothing.
    add_device(admin, "erin", "lab")
    # "frank-a-b": frank's device "a-b" first; the user "frank-a" could then not add "b".
    admin.add_user("frank-a", sip_password=USER_SECRET)
    add_device(admin, "frank", "a-b", sip_password="frank-ab")
    assert_error(admin.post("/api/v1/users/frank-a/devices", {"device": "b",
                                                             "sip_password": "y"}), 409,
                 "conflict")
    # A user id that is a device's username is refused too.
    assert_error(admin.post("/api/v1/users", {"id": "frank-a-b", "password": "pw-xxxxxxxx"}),
                 409, "conflict")
    assert subscribe_status(sip, "frank-a-b", "frank-ab").status == 200


def test_racing_secrets_for_one_sip_username_get_one_201_and_one_409(sip, admin):
    # "gN-a-b" is both (gN, a-b) and (gN-a, b): posted at once, only one may have it.
    def post(user, device, results):
        client = Client(sip.url, admin.token)
        results.append(client.post("/api/v1/users/%s/devices" % user,
                                   {"device": device, "sip_password": "s"}).status_code)

    for n in range(8):
        admin.add_user("g%d" % n)
        admin.add_user("g%d-a" % n)
        results = []
        threads = [threading.Thread(target=post, args=("g%d" % n, "a-b", results)),
                   threading.Thread(target=post, args=("g%d-a" % n, "b", results))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [201, 409], (n, results)


def test_a_device_secret_that_is_not_a_string_is_400(sip, admin):
    assert_error(admin.post("/api/v1/users/alice/devices", {"device": "x", "sip_password": 7}),
                 400, "invalid_argument")


# ---- Metrics ----

def metric(admin, name, labels=""):
    answer = admin.get("/metrics")
    assert answer.status_code == 200, answer.text
    match = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), answer.text, re.M)
    assert match, "%s%s not in:\n%s" % (name, labels, answer.text)
    return int(match.group(1))


def test_metrics_count_a_subscribe(sip, admin):
    requests = metric(admin, "presenced_sip_requests_total", '{method="SUBSCRIBE"}')
    failures = metric(admin, "presenced_sip_auth_failures_total")
    accepted = metric(admin, "presenced_sip_notify_total", '{result="accepted"}')
    phone = Watcher(sip, "TCP", "alice-desk", DESK_SECRET)
    try:
        assert phone.subscribe("bob").status == 200
        assert phone.wait_notify() is not None
        # Over TCP nothing is retransmitted: the challenged SUBSCRIBE and the authenticated one.
        assert metric(admin, "presenced_sip_requests_total",
                      '{method="SUBSCRIBE"}') == requests + 2
        assert metric(admin, "presenced_sip_subscriptions", '{package="presence"}') >= 1
        assert metric(admin, "presenced_sip_tcp_connections") >= 1
        # The NOTIFY's 200 reaches the server after the phone has it: wait for the count.
        assert poll(lambda: metric(admin, "presenced_sip_notify_total", '{result="accepted"}'),
                    lambda n: n >= accepted + 1) >= accepted + 1
    finally:
        phone.close()
    assert subscribe_status(sip, "alice-desk", "wrong").status == 403
    assert metric(admin, "presenced_sip_auth_failures_total") == failures + 1
    for family in ("presenced_sip_transactions{side=\"server\"}",
                   "presenced_sip_transactions{side=\"client\"}",
                   "presenced_sip_overload_refusals_total"):
        assert re.search(r"^%s \d+$" % re.escape(family), admin.get("/metrics").text, re.M)


# ---- Flags ----

def test_min_expires_flag_gives_423_with_its_value(sip, admin, transport):
    # RFC 6665 §4.2.1.1, RFC 3261 §21.4.17
    answer = subscribe_status(sip, "alice", USER_SECRET, transport, expires=MIN_EXPIRES - 1)
    assert answer.status == 423, answer
    assert answer.header("Min-Expires") == str(MIN_EXPIRES)


def test_max_expires_flag_cuts_a_longer_subscription(sip, admin):
    answer = subscribe_status(sip, "alice", USER_SECRET, expires=MAX_EXPIRES * 2)
    assert answer.status == 200, answer
    assert int(answer.header("Expires")) == MAX_EXPIRES


@pytest.mark.parametrize("flags", [
    ["--sip-min-expires", "0"],
    ["--sip-max-connections", "0"],
    ["--sip-nonce-lifetime-s", "100000"],
    ["--sip-min-expires", "600", "--sip-max-expires", "300"],
    ["--sip-default-expires", "30"],
])
def test_a_bad_sip_flag_exits_with_2(tmp_path, flags):
    done = subprocess.run([PRESENCED, "--data-dir", str(tmp_path), "--http", "127.0.0.1:0",
                           "--sip", "127.0.0.1:0", *flags],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=10)
    assert done.returncode == 2, done.stdout
    assert flags[0] in done.stdout or flags[-2] in done.stdout, done.stdout
