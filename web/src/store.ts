// The presences the client knows, newest per user. Events can arrive twice or late (a resumed
// subscription, a REST answer racing a WebSocket event): the sequence decides which one wins.
import type { Presence } from './api';

export type Listener = (user: string, presence: Presence) => void;

export class PresenceStore {
  private readonly presences = new Map<string, Presence>();
  private readonly listeners = new Set<Listener>();

  get(user: string): Presence | undefined {
    return this.presences.get(user);
  }

  // Returns whether the presence was newer than the one held and replaced it.
  apply(presence: Presence): boolean {
    const held = this.presences.get(presence.user);
    if (held && held.sequence > presence.sequence) return false;
    if (held && held.sequence === presence.sequence && sameView(held, presence)) return false;
    this.presences.set(presence.user, presence);
    for (const listener of this.listeners) listener(presence.user, presence);
    return true;
  }

  // What a resumed subscription sends as `since`: the last sequence seen per user.
  lastSequences(users: Iterable<string>): Record<string, number> {
    const since: Record<string, number> = {};
    for (const user of users) {
      const held = this.presences.get(user);
      if (held) since[user] = held.sequence;
    }
    return since;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.presences.clear();
  }
}

// The same sequence may come with more detail (the user's own presence read over REST carries
// the explanation the WebSocket event leaves out); that is still worth keeping.
function sameView(a: Presence, b: Presence): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
