// The live presence feed over the WebSocket: subscribes, reconnects with backoff after a drop and
// resumes with the last sequence seen per user, so only what changed meanwhile is sent again.
import type { Presence } from './api';
import type { PresenceStore } from './store';

export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface Timers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type LinkStatus = 'connecting' | 'online' | 'offline';

// Users per subscribe message: 200 ids of up to 128 bytes, each also in `since`, fit in 64 KiB.
const subscribeChunk = 200;

// Exponential backoff with jitter, so clients dropped together do not all come back at once.
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 15_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}

export interface LiveOptions {
  url: () => string;
  store: PresenceStore;
  open?: SocketFactory;
  timers?: Timers;
  backoff?: Backoff;
  onStatus?: (status: LinkStatus) => void;
}

export class LiveConnection {
  private socket: SocketLike | null = null;
  private retry: unknown = null;
  private stopped = true;
  private readonly watched = new Set<string>();
  private status: LinkStatus = 'offline';
  private readonly open: SocketFactory;
  private readonly timers: Timers;
  private readonly backoff: Backoff;

  constructor(private readonly options: LiveOptions) {
    this.open = options.open ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.timers = options.timers ?? {
      setTimeout: (run, ms) => globalThis.setTimeout(run, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
    };
    this.backoff = options.backoff ?? new Backoff();
  }

  get linkStatus(): LinkStatus {
    return this.status;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry !== null) this.timers.clearTimeout(this.retry);
    this.retry = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.setStatus('offline');
  }

  // Adds users to the subscription; they are resubscribed on every reconnect.
  watch(users: Iterable<string>): void {
    const added = [...users].filter((u) => !this.watched.has(u));
    for (const user of added) this.watched.add(user);
    if (added.length > 0 && this.status === 'online') this.subscribe(added);
  }

  // Idle reports of this session; the server decides from `since` and the user's idle minutes
  // when it counts as Inactive.
  reportInput(state: 'active' | 'idle', since: Date): void {
    if (this.status === 'online') {
      this.socket?.send(JSON.stringify({ op: 'input', state, since: since.toISOString() }));
    }
  }

  private connect(): void {
    this.retry = null;
    this.setStatus('connecting');
    const socket = this.open(this.options.url());
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.backoff.reset();
      this.setStatus('online');
      if (this.watched.size > 0) this.subscribe([...this.watched]);
    };
    socket.onmessage = (event) => {
      if (this.socket === socket && typeof event.data === 'string') this.receive(event.data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setStatus('offline');
      if (!this.stopped) this.retry = this.timers.setTimeout(() => this.connect(), this.backoff.next());
    };
    socket.onerror = () => {
      // A close event follows every error; the retry is scheduled there.
    };
  }

  // In chunks, so a long list stays far below the server's 64 KiB message limit.
  private subscribe(users: string[]): void {
    for (let i = 0; i < users.length; i += subscribeChunk) {
      const chunk = users.slice(i, i + subscribeChunk);
      const since = this.options.store.lastSequences(chunk);
      const message: Record<string, unknown> = { op: 'subscribe', users: chunk };
      if (Object.keys(since).length > 0) message.since = since;
      this.socket?.send(JSON.stringify(message));
    }
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!isPresenceEvent(message)) return;
    const { type: _type, ...presence } = message;
    this.options.store.apply(presence);
  }

  private setStatus(status: LinkStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.options.onStatus?.(status);
  }
}

function isPresenceEvent(message: unknown): message is Presence & { type: 'presence' } {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  return m.type === 'presence' && typeof m.user === 'string' && typeof m.sequence === 'number';
}
