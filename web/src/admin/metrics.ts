// Reading GET /metrics for the console's live view: a few figures and a rate between two polls.

// Prometheus text format: the value of an unlabelled sample, or of the sum of a labelled family.
export function metricValue(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

// Events per second between two readings of a counter; nothing across a restart (counter reset).
export function ratePerSecond(before: number | undefined, after: number | undefined, seconds: number): number | undefined {
  if (before === undefined || after === undefined || seconds <= 0 || after < before) return undefined;
  return (after - before) / seconds;
}

export interface Reading {
  at: number;
  text: string;
}

// The figures the console shows, from the newest reading and the one before it.
export function figures(before: Reading | undefined, after: Reading): Record<string, number | undefined> {
  const seconds = before ? (after.at - before.at) / 1000 : 0;
  const rate = (name: string) =>
    before ? ratePerSecond(metricValue(before.text, name), metricValue(after.text, name), seconds) : undefined;
  return {
    connections: metricValue(after.text, 'presenced_websocket_connections'),
    sipSubscriptions: metricValue(after.text, 'presenced_sip_subscriptions'),
    subscriptions: metricValue(after.text, 'presenced_subscriptions'),
    watchers: metricValue(after.text, 'presenced_watchers'),
    users: metricValue(after.text, 'presenced_users'),
    changesPerSecond: rate('presenced_presence_changes_total'),
    eventsPerSecond: rate('presenced_deliveries_total'),
    requestsPerSecond: rate('presenced_http_requests_total'),
  };
}
