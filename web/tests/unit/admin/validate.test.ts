import { describe, expect, it } from 'vitest';
import { parseField } from '../../../src/admin/validate';

describe('console field checks', () => {
  it('requires what is required and leaves empty optional fields out', () => {
    expect(parseField({ kind: 'id', required: true }, '  ')).toEqual({ problem: { key: 'validate.required' } });
    expect(parseField({ kind: 'number', min: 1, max: 1440 }, '')).toEqual({ value: undefined });
    expect(parseField({ kind: 'text' }, '')).toEqual({ value: undefined });
  });

  it('checks ids with the server grammar', () => {
    expect(parseField({ kind: 'id' }, ' alice.b@x+1 ')).toEqual({ value: 'alice.b@x+1' });
    expect(parseField({ kind: 'id' }, 'bad id')).toEqual({ problem: { key: 'validate.id', params: { value: 'bad id' } } });
    expect(parseField({ kind: 'id' }, 'x'.repeat(129))).toHaveProperty('problem.key', 'validate.id');
    expect(parseField({ kind: 'id' }, 'x'.repeat(128))).toEqual({ value: 'x'.repeat(128) });
  });

  it('splits id lists, drops repeats and names the first bad one', () => {
    expect(parseField({ kind: 'ids' }, 'alice, bob carol,,alice')).toEqual({ value: ['alice', 'bob', 'carol'] });
    expect(parseField({ kind: 'ids' }, 'alice, b/ob')).toEqual({ problem: { key: 'validate.id', params: { value: 'b/ob' } } });
  });

  it('takes whole numbers within the range only', () => {
    const idle = { kind: 'number' as const, min: 1, max: 1440 };
    expect(parseField(idle, '15')).toEqual({ value: 15 });
    expect(parseField(idle, '1440')).toEqual({ value: 1440 });
    for (const bad of ['0', '1441', '1.5', '1e3', 'ten', '-3']) {
      expect(parseField(idle, bad), bad).toEqual({ problem: { key: 'validate.range', params: { value: bad, min: '1', max: '1440' } } });
    }
  });

  it('counts UTF-8 bytes against the limit and keeps passwords as typed', () => {
    expect(parseField({ kind: 'text', maxLength: 4 }, 'äää')).toEqual({ problem: { key: 'validate.length', params: { bytes: '6', max: '4' } } });
    expect(parseField({ kind: 'text', maxLength: 4 }, ' ab ')).toEqual({ value: 'ab' });
    expect(parseField({ kind: 'password' }, ' secret ')).toEqual({ value: ' secret ' });
  });

  it('passes checkboxes through', () => {
    expect(parseField({ kind: 'check' }, true)).toEqual({ value: true });
    expect(parseField({ kind: 'checks' }, ['Available', 'InAMeeting'])).toEqual({ value: ['Available', 'InAMeeting'] });
  });
});
