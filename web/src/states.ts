// The order in which states are offered (seed 002, the states module's "order" and "default").
import type { State } from './api';

// The default state first, then by order; equal orders keep the server's order (built-ins first).
export function sortStates(states: readonly State[]): State[] {
  return [...states].sort((a, b) => Number(Boolean(b.default)) - Number(Boolean(a.default)) || (a.order ?? 0) - (b.order ?? 0));
}
