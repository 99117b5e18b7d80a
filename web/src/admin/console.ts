// The admin console: its panels in one view beside the client's, shown only to admins (the
// server refuses these routes to everyone else anyway).
import type { Api, State } from '../api';
import type { Translator } from '../i18n';
import { calendarPanel, teamsPanel } from './connectors';
import { ConsoleContext, type ConsolePanel } from './context';
import { errorText } from './kit';
import { metricsPanel } from './live';
import { devicesPanel, groupsPanel, usersPanel } from './people';
import { apiKeysPanel, profilesPanel, queuesPanel, rulesPanel } from './policy';
import { statesPanel } from './states';

export class Console {
  private readonly ctx: ConsoleContext;
  private readonly panels: ConsolePanel[];
  private readonly metrics: ReturnType<typeof metricsPanel>;

  constructor(
    private readonly root: HTMLElement,
    api: () => Api,
    tr: Translator,
    statesChanged: (states: State[]) => void,
  ) {
    this.ctx = new ConsoleContext(root.ownerDocument, api, tr);
    const devices = devicesPanel(this.ctx);
    this.metrics = metricsPanel(this.ctx);
    this.panels = [
      this.metrics,
      usersPanel(this.ctx, (user) => devices.showUser(user)),
      groupsPanel(this.ctx),
      devices,
      statesPanel(this.ctx, statesChanged),
      profilesPanel(this.ctx),
      rulesPanel(this.ctx),
      queuesPanel(this.ctx),
      apiKeysPanel(this.ctx),
      teamsPanel(this.ctx),
      calendarPanel(this.ctx),
    ];
    root.replaceChildren(...this.panels.map((p) => p.element));
    this.ctx.onChange(() => this.redraw());
  }

  // Reads everything afresh and starts the metrics poll.
  async open(): Promise<void> {
    this.root.hidden = false;
    const status = this.root.ownerDocument.getElementById('console-status');
    if (status) status.textContent = '';
    // Users and states first: the other panels' choices come from them.
    try {
      await Promise.all([this.ctx.reloadUsers(), this.loadStates()]);
      await Promise.all(this.panels.map((p) => p.load()));
    } catch (error) {
      if (status) status.textContent = this.ctx.tr.t('admin.error', { message: errorText(this.ctx.tr, error) });
    }
  }

  close(): void {
    this.root.hidden = true;
    this.metrics.stop();
  }

  // The client read the states (or a language switch): redraw what shows them.
  setStates(states: State[]): void {
    this.ctx.states = states;
    this.redraw();
  }

  redraw(): void {
    for (const panel of this.panels) panel.redraw();
  }

  private async loadStates(): Promise<void> {
    this.ctx.states = await this.ctx.api.states();
  }
}
