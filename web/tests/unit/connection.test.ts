import { describe, expect, it } from 'vitest';
import type { Presence } from '../../src/api';
import { Backoff, LiveConnection, type LinkStatus, type SocketLike, type Timers } from '../../src/connection';
import { PresenceStore } from '../../src/store';

class FakeSocket implements SocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: Record<string, unknown>[] = [];
  closed = false;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(): void {
    this.closed = true;
  }

  serverOpens(): void {
    this.onopen?.({});
  }

  serverSends(message: unknown): void {
    this.onmessage?.({ data: typeof message === 'string' ? message : JSON.stringify(message) });
  }

  drops(): void {
    this.onerror?.({});
    this.onclose?.({});
  }
}

class ManualTimers implements Timers {
  readonly pending: { run: () => void; ms: number }[] = [];

  setTimeout(run: () => void, ms: number): unknown {
    const entry = { run, ms };
    this.pending.push(entry);
    return entry;
  }

  clearTimeout(handle: unknown): void {
    const i = this.pending.indexOf(handle as { run: () => void; ms: number });
    if (i >= 0) this.pending.splice(i, 1);
  }

  fire(): number {
    const entry = this.pending.shift();
    if (!entry) throw new Error('no timer pending');
    entry.run();
    return entry.ms;
  }
}

function event(user: string, sequence: number, availability: Presence['availability']) {
  return { type: 'presence', user, availability, activity: availability, flags: [], sequence };
}

function setup() {
  const sockets: FakeSocket[] = [];
  const timers = new ManualTimers();
  const store = new PresenceStore();
  const statuses: LinkStatus[] = [];
  let token = 't1';
  const live = new LiveConnection({
    url: () => `ws://host/api/v1/ws?access_token=${token}`,
    store,
    timers,
    backoff: new Backoff(100, 1000, () => 1),
    open: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    onStatus: (s) => statuses.push(s),
  });
  return { sockets, timers, store, statuses, live, setToken: (t: string) => (token = t) };
}

describe('LiveConnection', () => {
  it('subscribes the watched users once open and applies their events', () => {
    const { sockets, store, live, statuses } = setup();
    live.watch(['alice', 'bob']);
    live.start();
    expect(statuses).toEqual(['connecting']);
    sockets[0].serverOpens();
    expect(sockets[0].sent).toEqual([{ op: 'subscribe', users: ['alice', 'bob'] }]);
    sockets[0].serverSends(event('bob', 3, 'Busy'));
    expect(store.get('bob')).toMatchObject({ availability: 'Busy', sequence: 3 });
    expect(store.get('bob')).not.toHaveProperty('type');
    expect(statuses).toEqual(['connecting', 'online']);
  });

  it('subscribes users added later on the open socket', () => {
    const { sockets, live } = setup();
    live.watch(['alice']);
    live.start();
    sockets[0].serverOpens();
    live.watch(['alice', 'carol']);
    expect(sockets[0].sent[1]).toEqual({ op: 'subscribe', users: ['carol'] });
  });

  it('subscribes a long list in messages below the server limit of 64 KiB', () => {
    const { sockets, store, live } = setup();
    const users = Array.from({ length: 1000 }, (_, i) => `u${String(i).padStart(127, '0')}`);
    for (const user of users) store.apply({ user, availability: 'Available', activity: 'Available', flags: [], sequence: 2 ** 52 });
    live.watch(users);
    live.start();
    sockets[0].serverOpens();
    expect(sockets[0].sent.length).toBeGreaterThan(1);
    expect(sockets[0].sent.flatMap((m) => m.users as string[])).toEqual(users);
    for (const message of sockets[0].sent) expect(JSON.stringify(message).length).toBeLessThan(64 * 1024);
  });

  it('ignores errors, malformed text and binary data', () => {
    const { sockets, store, live } = setup();
    live.watch(['bob']);
    live.start();
    sockets[0].serverOpens();
    sockets[0].serverSends({ type: 'error', error: { code: 'not_found', message: 'x' } });
    sockets[0].serverSends('{not json');
    sockets[0].onmessage?.({ data: new ArrayBuffer(2) });
    sockets[0].serverSends({ type: 'presence', user: 'bob' });
    expect(store.get('bob')).toBeUndefined();
  });

  it('goes offline on a drop, reconnects after a growing delay and resumes from the last sequences', () => {
    const { sockets, timers, store, live, statuses, setToken } = setup();
    live.watch(['alice', 'bob', 'carol']);
    live.start();
    sockets[0].serverOpens();
    sockets[0].serverSends(event('alice', 10, 'Available'));
    sockets[0].serverSends(event('bob', 4294967338, 'Busy'));
    sockets[0].drops();
    expect(statuses.at(-1)).toBe('offline');
    expect(live.linkStatus).toBe('offline');

    expect(timers.fire()).toBe(100);
    expect(sockets).toHaveLength(2);
    sockets[1].drops();
    expect(timers.fire()).toBe(200);
    setToken('t2');
    sockets[2].drops();
    expect(timers.fire()).toBe(400);
    expect(sockets[3].url).toContain('access_token=t2');
    sockets[3].serverOpens();
    expect(statuses.at(-1)).toBe('online');
    expect(sockets[3].sent).toEqual([
      { op: 'subscribe', users: ['alice', 'bob', 'carol'], since: { alice: 10, bob: 4294967338 } },
    ]);
    // What changed meanwhile arrives; a stale repeat does not go backwards.
    sockets[3].serverSends(event('alice', 11, 'Away'));
    sockets[3].serverSends(event('bob', 4294967337, 'Available'));
    expect(store.get('alice')?.availability).toBe('Away');
    expect(store.get('bob')?.availability).toBe('Busy');

    // A successful open resets the backoff.
    sockets[3].drops();
    expect(timers.fire()).toBe(100);
  });

  it('stops for good: no reconnect, late events from the old socket ignored', () => {
    const { sockets, timers, store, live } = setup();
    live.watch(['bob']);
    live.start();
    sockets[0].serverOpens();
    sockets[0].drops();
    live.stop();
    expect(timers.pending).toHaveLength(0);

    const again = setup();
    again.live.watch(['bob']);
    again.live.start();
    again.sockets[0].serverOpens();
    again.live.stop();
    expect(again.sockets[0].closed).toBe(true);
    again.sockets[0].serverSends(event('bob', 1, 'Busy'));
    again.sockets[0].drops();
    expect(again.store.get('bob')).toBeUndefined();
    expect(again.timers.pending).toHaveLength(0);
    expect(store.get('bob')).toBeUndefined();
  });

  it('sends idle reports only while online', () => {
    const { sockets, live } = setup();
    live.start();
    const since = new Date('2026-11-30T10:00:00Z');
    live.reportInput('idle', since);
    sockets[0].serverOpens();
    live.reportInput('idle', since);
    expect(sockets[0].sent).toEqual([{ op: 'input', state: 'idle', since: '2026-11-30T10:00:00.000Z' }]);
  });
});

describe('Backoff', () => {
  it('doubles up to the ceiling, with jitter in the upper half', () => {
    const high = new Backoff(500, 4000, () => 1);
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([500, 1000, 2000, 4000, 4000]);
    const low = new Backoff(500, 4000, () => 0);
    expect([low.next(), low.next()]).toEqual([250, 500]);
    high.reset();
    expect(high.next()).toBe(500);
  });
});
