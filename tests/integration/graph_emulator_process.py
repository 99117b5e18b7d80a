"""The Graph emulator (tools/graph-emulator) in a child process on 127.0.0.1, and a client for it."""

import os
import queue
import re
import subprocess
import sys
import threading
import time

import requests

EMULATOR = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "graph-emulator",
                        "graph_emulator.py")
TENANT = "contoso"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "emulator-secret"


class GraphEmulator:
    def __init__(self, *args):
        self.process = subprocess.Popen(
            [sys.executable, EMULATOR, "--tenant", TENANT, "--client-id", CLIENT_ID,
             "--client-secret", CLIENT_SECRET, *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.process.stdout],
                         daemon=True).start()
        deadline = time.monotonic() + 10
        self.url = None
        while time.monotonic() < deadline and self.url is None:
            try:
                match = re.search(r"listening on (http://\S+)", lines.get(timeout=0.5))
            except queue.Empty:
                continue
            if match:
                self.url = match.group(1)
        if self.url is None:
            self.stop()
            raise RuntimeError("graph emulator did not start")
        self.token_url = f"{self.url}/{TENANT}/oauth2/v2.0/token"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=5)

    def control(self, method, path, body=None):
        answer = requests.request(method, f"{self.url}/_control/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def add_user(self, upn):
        return self.control("POST", "users", {"upn": upn})["id"]

    def teams_client(self, user_id, availability, activity):
        """What the user's Teams client reports (a call, a meeting, presenting)."""
        return self.control("POST", f"users/{user_id}/client",
                            {"availability": availability, "activity": activity})

    def teams_preferred(self, user_id, availability, activity):
        """A manual status the user picks in Teams."""
        return self.control("POST", f"users/{user_id}/preferred",
                            {"availability": availability, "activity": activity})

    def user(self, user_id):
        return self.control("GET", f"users/{user_id}")

    def stats(self):
        return self.control("GET", "stats")

    def token(self):
        answer = requests.post(self.token_url, data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "scope": "https://graph.microsoft.com/.default"},
            timeout=10)
        answer.raise_for_status()
        return answer.json()["access_token"]
