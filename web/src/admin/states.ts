// The states module (FreePBX's, seed 002): built-in and admin-defined states with their type,
// message, order and the one default; admin-defined ones are added, changed and deleted here.
import type { State } from '../api';
import type { ConsoleContext, ConsolePanel } from './context';
import { defined, Form, panel, subheading, Table } from './kit';

export const stateTypes = ['available', 'chat', 'away', 'dnd', 'xa', 'unavailable'] as const;

export function statesPanel(ctx: ConsoleContext, changed: (states: State[]) => void): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-states', 'admin.states.heading');
  const table = new Table(doc, tr, 'console-states-rows', [
    'admin.states.id',
    'admin.states.type',
    'admin.states.message',
    'admin.states.order',
    'admin.states.default',
  ]);
  const form = new Form(
    doc,
    tr,
    'console-state',
    [
      { name: 'id', label: 'admin.states.id', kind: 'id', required: true },
      {
        name: 'type',
        label: 'admin.states.type',
        kind: 'select',
        required: true,
        options: () => stateTypes.map((t) => ({ value: t, label: tr.t(`type.${t}`) })),
      },
      { name: 'message', label: 'admin.states.message', kind: 'text', maxLength: 256 },
      { name: 'order', label: 'admin.states.order', kind: 'number', min: -1_000_000, max: 1_000_000 },
      { name: 'default', label: 'admin.states.default', kind: 'check', hint: 'admin.states.defaultHint' },
    ],
    'admin.states.save',
    async (v) => {
      const id = v.id as string;
      await ctx.api.putState(id, {
        type: v.type as string,
        default: v.default as boolean,
        ...defined({ message: v.message as string | undefined, order: v.order as number | undefined }),
      });
      await reload();
      return tr.t('admin.states.saved', { id });
    },
  );
  element.append(table.element, subheading(doc, tr, 'admin.states.new'), ...form.nodes);

  async function reload(): Promise<void> {
    ctx.states = await ctx.api.states();
    changed(ctx.states);
    ctx.changed();
  }

  async function remove(id: string): Promise<void> {
    await form.report(
      async () => {
        await ctx.api.deleteState(id);
        await reload();
      },
      () => tr.t('admin.states.deleted', { id }),
    );
  }

  function redraw(): void {
    const sorted = [...ctx.states].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    table.render(
      sorted.map((state) => {
        const id = state.id ?? '';
        const type = state.type ?? '';
        return {
          key: id,
          cells: [id, tr.tOr(`type.${type}`, type), ctx.stateName(state), String(state.order ?? ''), state.default ? tr.t('admin.yes') : ''],
          actions: state.built_in
            ? []
            : [
                {
                  label: 'admin.edit',
                  name: tr.t('admin.states.editLabel', { id }),
                  run: () => form.fill({ id, type, message: state.message, order: state.order, default: state.default }),
                },
                { label: 'admin.delete', name: tr.t('admin.states.deleteLabel', { id }), run: () => void remove(id) },
              ],
        };
      }),
    );
    form.refreshOptions();
  }

  return { element, load: reload, redraw };
}
