import { describe, expect, it } from 'vitest';
import type { State } from '../../src/api';
import { sortStates } from '../../src/states';

const ids = (states: State[]) => states.map((s) => s.id);

describe('the order states are offered in', () => {
  const states: State[] = [
    { id: 'Available', built_in: true, order: 0 },
    { id: 'Busy', built_in: true, order: 1 },
    { id: 'lunch', order: 5 },
    { id: 'meeting', order: -1 },
    { id: 'travel', order: 5 },
  ];

  it('goes by order, keeping the server order among equals', () => {
    expect(ids(sortStates(states))).toEqual(['meeting', 'Available', 'Busy', 'lunch', 'travel']);
  });

  it('puts the default first, whatever its order', () => {
    const withDefault = states.map((s) => (s.id === 'travel' ? { ...s, default: true } : s));
    expect(ids(sortStates(withDefault))).toEqual(['travel', 'meeting', 'Available', 'Busy', 'lunch']);
    expect(ids(states)).toEqual(['Available', 'Busy', 'lunch', 'meeting', 'travel']);
  });
});
