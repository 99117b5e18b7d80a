import { describe, expect, it } from 'vitest';
import { figures, metricValue, ratePerSecond } from '../../../src/admin/metrics';

const first = `# HELP presenced_websocket_connections Open WebSocket connections.
# TYPE presenced_websocket_connections gauge
presenced_websocket_connections 3
presenced_websocket_connections_total 17
presenced_subscriptions 42
presenced_presence_changes_total 100
presenced_deliveries_total 1000
presenced_http_requests_total{class="2xx"} 50
presenced_http_requests_total{class="4xx"} 2
presenced_sip_subscriptions{package="presence"} 4
presenced_sip_subscriptions{package="dialog"} 1
`;

describe('metrics reading', () => {
  it('reads a sample by its exact name and sums labelled families', () => {
    expect(metricValue(first, 'presenced_websocket_connections')).toBe(3);
    expect(metricValue(first, 'presenced_http_requests_total')).toBe(52);
    expect(metricValue(first, 'presenced_sip_subscriptions')).toBe(5);
    expect(metricValue(first, 'presenced_watchers')).toBeUndefined();
  });

  it('gives rates between two readings and none across a counter reset', () => {
    expect(ratePerSecond(100, 300, 2)).toBe(100);
    expect(ratePerSecond(300, 100, 2)).toBeUndefined();
    expect(ratePerSecond(undefined, 100, 2)).toBeUndefined();
    expect(ratePerSecond(1, 2, 0)).toBeUndefined();
  });

  it('has no rates from a single reading, then events per second from two', () => {
    const one = figures(undefined, { at: 0, text: first });
    expect(one.connections).toBe(3);
    expect(one.subscriptions).toBe(42);
    expect(one.eventsPerSecond).toBeUndefined();
    const later = first.replace('presenced_deliveries_total 1000', 'presenced_deliveries_total 1500').replace('presenced_presence_changes_total 100', 'presenced_presence_changes_total 150');
    const two = figures({ at: 1000, text: first }, { at: 3000, text: later });
    expect(two.eventsPerSecond).toBe(250);
    expect(two.changesPerSecond).toBe(25);
    expect(two.requestsPerSecond).toBe(0);
  });
});
