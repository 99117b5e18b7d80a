// The console's live view of GET /metrics, polled while the console is open.
import type { MessageKey } from '../i18n';
import type { ConsoleContext, ConsolePanel } from './context';
import { errorText, panel } from './kit';
import { figures, type Reading } from './metrics';

export const pollMs = 2_000;

const shown: { name: string; label: MessageKey; rate?: boolean }[] = [
  { name: 'connections', label: 'admin.metrics.connections' },
  { name: 'sipSubscriptions', label: 'admin.metrics.sipSubscriptions' },
  { name: 'subscriptions', label: 'admin.metrics.subscriptions' },
  { name: 'watchers', label: 'admin.metrics.watchers' },
  { name: 'users', label: 'admin.metrics.users' },
  { name: 'changesPerSecond', label: 'admin.metrics.changes', rate: true },
  { name: 'eventsPerSecond', label: 'admin.metrics.events', rate: true },
  { name: 'requestsPerSecond', label: 'admin.metrics.requests', rate: true },
];

export interface MetricsPanel extends ConsolePanel {
  stop(): void;
}

export function metricsPanel(ctx: ConsoleContext): MetricsPanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-metrics', 'admin.metrics.heading');
  const list = doc.createElement('dl');
  list.className = 'metrics';
  const status = doc.createElement('p');
  status.id = 'console-metrics-status';
  status.className = 'hint';
  element.append(list, status);
  let before: Reading | undefined;
  let after: Reading | undefined;
  let timer = 0;
  let failed = '';

  async function poll(): Promise<void> {
    try {
      const text = await ctx.api.metrics();
      before = after;
      after = { at: performance.now(), text };
      failed = '';
    } catch (error) {
      failed = errorText(tr, error);
    }
    redraw();
  }

  function redraw(): void {
    const values = after ? figures(before, after) : {};
    list.replaceChildren(
      ...shown.flatMap(({ name, label, rate }) => {
        const dt = doc.createElement('dt');
        dt.dataset.i18n = label;
        dt.textContent = tr.t(label);
        const dd = doc.createElement('dd');
        dd.dataset.metric = name;
        const value = values[name];
        dd.textContent =
          value === undefined ? '–' : new Intl.NumberFormat(tr.language, { maximumFractionDigits: rate ? 1 : 0 }).format(value);
        return [dt, dd];
      }),
    );
    status.textContent = failed
      ? tr.t('admin.error', { message: failed })
      : tr.t('admin.metrics.every', { seconds: String(pollMs / 1000) });
  }

  return {
    element,
    load: async () => {
      window.clearInterval(timer);
      timer = window.setInterval(() => void poll(), pollMs);
      await poll();
    },
    redraw,
    stop: () => {
      window.clearInterval(timer);
      timer = 0;
      before = undefined;
      after = undefined;
    },
  };
}
