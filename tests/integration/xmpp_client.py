"""An XMPP client (python3-slixmpp) on its own thread and asyncio loop; received presence stanzas
are queued as dicts (from, type, show, status) for the test thread."""

import asyncio
import queue
import threading
import time

import slixmpp


class XmppClient:
    def __init__(self, jid, password, port):
        self.presences = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(jid, password, port), daemon=True)
        self.thread.start()
        if not self.ready.wait(15):
            raise RuntimeError("%s did not get online" % jid)

    def _run(self, jid, password, port):
        asyncio.set_event_loop(self.loop)
        client = slixmpp.ClientXMPP(jid, password)
        # Loopback without certificates: plain TCP, as the test Prosody allows.
        client["feature_mechanisms"].unencrypted_plain = True
        # Subscription handling is the test's business, not the library's.
        client.auto_authorize = None
        client.auto_subscribe = False
        client.add_event_handler("session_start", self._started)
        # slixmpp names available presence by its <show>: presence_dnd, presence_away, ...
        for event in ("presence_available", "presence_unavailable", "presence_subscribed",
                      "presence_dnd", "presence_away", "presence_xa", "presence_chat",
                      "presence_unsubscribed", "presence_subscribe", "presence_unsubscribe",
                      "presence_error"):
            client.add_event_handler(event, self._presence)
        self.client = client
        client.connect(address=("127.0.0.1", port), use_ssl=False, disable_starttls=True)
        self.loop.run_forever()
        # Let the library's tasks end inside the loop before it closes.
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    async def _started(self, _event):
        self.client.send_presence()
        await self.client.get_roster()
        self.ready.set()

    def _presence(self, stanza):
        self.presences.put({
            "from": stanza["from"].bare,
            "type": stanza["type"],
            "show": stanza["show"],
            "status": stanza["status"],
            "error": stanza["error"]["condition"] if stanza["type"] == "error" else "",
            "at": time.monotonic(),
        })

    def send_presence(self, to, ptype):
        self.loop.call_soon_threadsafe(lambda: self.client.send_presence(pto=to, ptype=ptype))

    def set_status(self, show, status):
        """Broadcast presence, as a user changing their status does."""
        self.loop.call_soon_threadsafe(
            lambda: self.client.send_presence(pshow=show or None, pstatus=status or None))

    def next(self, timeout=5, predicate=lambda p: True):
        """The next presence that matches; earlier ones are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching presence within %ss" % timeout)
            try:
                presence = self.presences.get(timeout=left)
            except queue.Empty:
                raise TimeoutError("no matching presence within %ss" % timeout) from None
            if predicate(presence):
                return presence

    def drain(self, seconds):
        """What arrives within `seconds`."""
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.presences.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return got

    def close(self):
        self.loop.call_soon_threadsafe(self.client.disconnect)
        time.sleep(0.2)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
