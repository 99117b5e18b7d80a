// The admin's states module: the built-in and admin-defined states, a form to add or change one
// (PUT /api/v1/states/{id}) and deleting admin-defined ones. The server validates; its message
// is shown as it is.
import { ApiError, type Api, type State } from './api';
import type { Translator } from './i18n';

export class AdminStates {
  constructor(
    private readonly doc: Document,
    private readonly api: () => Api,
    private readonly tr: Translator,
    private readonly changed: (states: State[]) => void,
  ) {
    this.doc.getElementById('admin-state-form')?.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.save();
    });
  }

  render(states: State[]): void {
    const rows = [...states]
      .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
      .map((state) => {
        const tr = this.doc.createElement('tr');
        tr.dataset.state = state.id ?? '';
        const type = state.type ?? '';
        const cells = [state.id ?? '', this.tr.tOr(`type.${type}`, type), state.message ?? '', String(state.order ?? '')];
        for (const text of cells) {
          const td = this.doc.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        const actions = this.doc.createElement('td');
        if (state.built_in) {
          actions.textContent = this.tr.t('admin.states.builtIn');
        } else {
          const remove = this.doc.createElement('button');
          remove.type = 'button';
          remove.textContent = this.tr.t('admin.states.delete');
          remove.setAttribute('aria-label', this.tr.t('admin.states.deleteLabel', { id: state.id ?? '' }));
          remove.addEventListener('click', () => void this.remove(state.id ?? ''));
          actions.append(remove);
        }
        tr.append(actions);
        return tr;
      });
    this.doc.getElementById('admin-states-rows')?.replaceChildren(...rows);
  }

  private async save(): Promise<void> {
    const id = this.value('admin-state-id').trim();
    const message = this.value('admin-state-message').trim();
    const order = this.value('admin-state-order');
    const body: { type: string; message?: string; order?: number } = { type: this.value('admin-state-type') };
    if (message) body.message = message;
    if (order) body.order = Number(order);
    await this.run(() => this.api().putState(id, body), this.tr.t('admin.states.saved', { id }));
  }

  private async remove(id: string): Promise<void> {
    await this.run(() => this.api().deleteState(id), this.tr.t('admin.states.deleted', { id }));
  }

  private async run(request: () => Promise<unknown>, done: string): Promise<void> {
    const result = this.doc.getElementById('admin-state-result');
    if (!result) return;
    result.classList.remove('message--error');
    try {
      await request();
      result.textContent = done;
      this.changed(await this.api().states());
    } catch (error) {
      result.classList.add('message--error');
      const message = error instanceof ApiError ? error.message : String(error);
      result.textContent = this.tr.t('admin.error', { message });
    }
  }

  private value(id: string): string {
    return (this.doc.getElementById(id) as HTMLInputElement | HTMLSelectElement | null)?.value ?? '';
  }
}
