import { describe, expect, it } from 'vitest';
import { isRemoteAddress } from '../../src/remote';

describe('remote contact addresses', () => {
  it('takes sip: and xmpp: addresses with a user and a domain', () => {
    expect(isRemoteAddress('sip:bob@remote.test')).toBe(true);
    expect(isRemoteAddress('xmpp:juliet@capulet.example')).toBe(true);
    expect(isRemoteAddress('SIP:bob@remote.test')).toBe(true);
  });

  it('refuses other schemes, missing parts, spaces and paths', () => {
    for (const text of ['bob', 'bob@remote.test', 'tel:+4930123', 'sip:remote.test', 'sip:@remote.test', 'sip:bob@', 'sip:bob @x', 'xmpp:a@b/resource', '']) {
      expect(isRemoteAddress(text), text).toBe(false);
    }
  });
});
