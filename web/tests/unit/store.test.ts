import { describe, expect, it } from 'vitest';
import type { Presence } from '../../src/api';
import { PresenceStore } from '../../src/store';

function presence(user: string, sequence: number, availability: Presence['availability'] = 'Available'): Presence {
  return { user, availability, activity: availability, flags: [], sequence };
}

describe('PresenceStore', () => {
  it('keeps the newest presence per user and tells listeners', () => {
    const store = new PresenceStore();
    const seen: string[] = [];
    store.subscribe((user, p) => seen.push(`${user}:${p.availability}`));
    expect(store.apply(presence('bob', 1))).toBe(true);
    expect(store.apply(presence('bob', 2, 'Busy'))).toBe(true);
    expect(store.get('bob')?.availability).toBe('Busy');
    expect(seen).toEqual(['bob:Available', 'bob:Busy']);
  });

  it('ignores an older event arriving late', () => {
    const store = new PresenceStore();
    store.apply(presence('bob', 5, 'Busy'));
    expect(store.apply(presence('bob', 4, 'Available'))).toBe(false);
    expect(store.get('bob')?.availability).toBe('Busy');
  });

  it('ignores a repeat but keeps the same sequence with more detail', () => {
    const store = new PresenceStore();
    let calls = 0;
    store.subscribe(() => calls++);
    store.apply(presence('me', 7));
    expect(store.apply(presence('me', 7))).toBe(false);
    const explained = { ...presence('me', 7), explanation: { layer: 'sessions', rule: 'logged_in', detail: '' } };
    expect(store.apply(explained)).toBe(true);
    expect(calls).toBe(2);
  });

  it('handles sequences beyond 32 bits', () => {
    const store = new PresenceStore();
    store.apply(presence('bob', 4294967338));
    expect(store.apply(presence('bob', 4294967337))).toBe(false);
    expect(store.lastSequences(['bob'])).toEqual({ bob: 4294967338 });
  });

  it('lists the last sequences only of the users it knows', () => {
    const store = new PresenceStore();
    store.apply(presence('alice', 3));
    store.apply(presence('bob', 9));
    expect(store.lastSequences(['alice', 'bob', 'carol'])).toEqual({ alice: 3, bob: 9 });
  });

  it('stops telling a listener that unsubscribed, and forgets on clear', () => {
    const store = new PresenceStore();
    let calls = 0;
    const stop = store.subscribe(() => calls++);
    store.apply(presence('bob', 1));
    stop();
    store.apply(presence('bob', 2));
    expect(calls).toBe(1);
    store.clear();
    expect(store.get('bob')).toBeUndefined();
  });
});
