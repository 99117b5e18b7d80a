"""The peer arms of the side-by-side comparison (bench/compare/arms: prosody, ejabberd, nats)
with their generators (compare-xmpp, compare-nats) on a cut-down data set: every arm and mode
provisions, logs everybody in, publishes, and passes the correctness gate (every allowed pair
converged, nothing on a denied pair). The generators come from a build with PRESENCED_BENCH on:
the build directory of PRESENCED_BIN, or COMPARE_BUILD."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "compare"))

import dataset as dataset_module  # noqa: E402
from arms.ejabberd import Ejabberd  # noqa: E402
from arms.nats import Nats  # noqa: E402
from arms.prosody import Prosody  # noqa: E402

USERS = 120  # six teams; the first hot user is among them


def build_dir():
    if "COMPARE_BUILD" in os.environ:
        return Path(os.environ["COMPARE_BUILD"])
    return Path(os.environ.get("PRESENCED_BIN", ROOT / "build/release/src/app/presenced")).parents[2]


def small_dataset():
    """The S data set kept to its first USERS users and the relations among them."""
    data = dataset_module.build("S")
    users = data["users"][:USERS]
    kept = set(users)
    watches = {name: [p for p in data["watches"][name] if p in kept] for name in users}
    for console in data["consoles"]:
        watches[console] = list(users)
    data.update(users=users, hot=[h for h in data["hot"] if h in kept], watches=watches,
                denied=[[w, p] for w, p in data["denied"] if w in kept and p in kept],
                pairs=sum(len(v) for v in watches.values()))
    assert data["hottest"] in kept and data["denied"]
    return data


class Generator:
    def __init__(self, arm, dataset_path):
        self.process = subprocess.Popen(
            [*arm.generator_command(), "--dataset", str(dataset_path),
             "--endpoint", json.dumps(arm.endpoint())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        assert answer["cmd"] == command["cmd"] and "generator_cpu_s" in answer
        return answer

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def prepared(arm_class, mode, tmp_path):
    """The arm with its configuration written, the data set and its file; skips when the
    server is not installed or the generator not built."""
    arm = arm_class(mode, str(tmp_path), str(ROOT), str(build_dir()))
    reason = arm.available()
    if reason:
        pytest.skip(reason)
    data = small_dataset()
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(data))
    arm.prepare(data)
    return arm, data, path


@pytest.mark.parametrize("arm_class", [Nats, Prosody, Ejabberd], ids=lambda c: c.name)
@pytest.mark.parametrize("mode", ["memory", "durable"])
def test_arm_passes_the_gate(arm_class, mode, tmp_path):
    arm, data, path = prepared(arm_class, mode, tmp_path)
    generator = None
    try:
        arm.start()
        arm.provision(data)
        assert arm.pids()
        generator = Generator(arm, path)
        login = generator(cmd="login", rate=200)
        assert login["ok"], login
        assert login["accounts"] == USERS + len(data["consoles"])
        assert login["failures"] == 0
        published = generator(cmd="publish", rate=50, duration_s=2)
        assert published["ok"] and published["offered"] > 0
        assert published["accepted"] == published["offered"]
        assert published["delivered"] == published["expected"] > 0
        assert published["latency_ms"]["p50"] > 0
        burst = generator(cmd="burst", count=60, within_s=0.5)
        assert burst["delivered"] == burst["expected"] and burst["drain_s"] >= 0
        gate = generator(cmd="gate", sample=0.05)
        assert gate["ok"], gate
        assert gate["pairs"] == data["pairs"]
        assert gate["converged"] == gate["allowed_pairs"] == data["pairs"] - len(data["denied"])
        assert gate["denied_violations"] == 0
        # Only what cannot be checked as it stands is published again: the sample, and for
        # NATS (no first notification) the presentities whose watchers never heard of them.
        assert gate["republished_sample"] == USERS * 5 // 100
        assert gate["republished"] < USERS
        assert gate["offered"] == gate["republished"]
        assert generator(cmd="quit")["ok"]
        assert arm.settings()
    finally:
        if generator:
            generator.close()
        arm.stop()
    assert not arm.pids()


def test_the_gate_fails_when_the_server_stops_delivering(tmp_path):
    """Publishes accepted (core NATS takes them once written) while the server is stopped
    never reach their watchers: the gate must say so, without an error to lean on."""
    arm, data, path = prepared(Nats, "memory", tmp_path)
    generator = None
    try:
        arm.start()
        arm.provision(data)
        generator = Generator(arm, path)
        assert generator(cmd="login", rate=200)["ok"]
        for pid in arm.pids():
            os.kill(pid, signal.SIGSTOP)
        published = generator(cmd="publish", rate=50, duration_s=1)
        assert published["accepted"] == published["offered"] > 0 and published["delivered"] == 0
        gate = generator(cmd="gate")
        assert not gate["ok"], gate
        assert gate["errors"] == 0 and gate["denied_violations"] == 0
        assert gate["converged"] < gate["allowed_pairs"]
        assert "pairs converged" in gate["error"]
    finally:
        for pid in arm.pids():
            os.kill(pid, signal.SIGCONT)
        if generator:
            generator.close()
        arm.stop()


def test_a_bad_command_is_answered_not_fatal(tmp_path):
    arm, _, path = prepared(Nats, "memory", tmp_path)
    arm.start()
    generator = Generator(arm, path)
    try:
        unknown = generator(cmd="teleport")
        assert not unknown["ok"] and "teleport" in unknown["error"]
        missing = generator(cmd="publish", duration_s=1)
        assert not missing["ok"] and "rate" in missing["error"]
        assert generator(cmd="quit")["ok"]
    finally:
        generator.close()
        arm.stop()
