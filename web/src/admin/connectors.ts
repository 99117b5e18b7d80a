// The connectors' settings: Teams user mappings (docs/teams.md) and each user's calendar source
// with the state of its last sync (docs/calendar.md).
import type { CalendarSource, TeamsUser } from '../api';
import { formatTime } from '../person';
import type { ConsoleContext, ConsolePanel } from './context';
import { defined, errorText, Form, panel, subheading, Table } from './kit';

export function teamsPanel(ctx: ConsoleContext): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-teams', 'admin.teams.heading');
  const table = new Table(doc, tr, 'console-teams-rows', ['admin.users.user', 'admin.teams.upn', 'admin.teams.tenant', 'admin.teams.mirrorDnd']);
  let mappings: TeamsUser[] = [];
  const form = new Form(
    doc,
    tr,
    'console-teams-user',
    [
      { name: 'user', label: 'admin.users.user', kind: 'select', required: true, options: () => ctx.userOptions() },
      { name: 'upn', label: 'admin.teams.upn', kind: 'text', required: true, maxLength: 256, hint: 'admin.teams.upnHint' },
      { name: 'tenant', label: 'admin.teams.tenant', kind: 'text', required: true, maxLength: 128 },
      { name: 'mirror_dnd', label: 'admin.teams.mirrorDnd', kind: 'check', hint: 'admin.teams.mirrorHint' },
    ],
    'admin.teams.save',
    async (v) => {
      const user = v.user as string;
      await ctx.api.putTeamsUser(user, { upn: v.upn as string, tenant: v.tenant as string, mirror_dnd: v.mirror_dnd as boolean });
      await load();
      return tr.t('admin.teams.saved', { user });
    },
  );
  element.append(table.element, subheading(doc, tr, 'admin.teams.new'), ...form.nodes);

  async function load(): Promise<void> {
    mappings = await ctx.api.teamsUsers();
    redraw();
  }

  async function remove(user: string): Promise<void> {
    await form.report(
      async () => {
        await ctx.api.deleteTeamsUser(user);
        await load();
      },
      () => tr.t('admin.teams.deleted', { user }),
    );
  }

  function redraw(): void {
    form.refreshOptions();
    table.render(
      mappings.map((m) => {
        const user = m.user ?? '';
        return {
          key: user,
          cells: [user, m.upn, m.tenant, ctx.yesNo(m.mirror_dnd)],
          actions: [
            {
              label: 'admin.edit',
              name: tr.t('admin.teams.editLabel', { user }),
              run: () => form.fill({ user, upn: m.upn, tenant: m.tenant, mirror_dnd: m.mirror_dnd }),
            },
            { label: 'admin.delete', name: tr.t('admin.teams.deleteLabel', { user }), run: () => void remove(user) },
          ],
        };
      }),
    );
  }

  return { element, load, redraw };
}

// One user's source at a time (no route lists them all), as with devices. No user is chosen at
// first: most have no source, and reading one they lack is a 404.
export function calendarPanel(ctx: ConsoleContext): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-calendar', 'admin.calendar.heading');
  const table = new Table(doc, tr, 'console-calendar-rows', [
    'admin.users.user',
    'admin.calendar.mode',
    'admin.calendar.url',
    'admin.calendar.username',
    'admin.calendar.passwordSet',
    'admin.calendar.status',
    'admin.calendar.lastSync',
  ]);
  let source: CalendarSource | null = null;
  let user = '';
  const form = new Form(
    doc,
    tr,
    'console-calendar-source',
    [
      {
        name: 'user',
        label: 'admin.users.user',
        kind: 'select',
        required: true,
        options: () => [{ value: '', label: tr.t('admin.none') }, ...ctx.userOptions()],
      },
      {
        name: 'mode',
        label: 'admin.calendar.mode',
        kind: 'select',
        required: true,
        options: () => ['caldav', 'ics'].map((m) => ({ value: m, label: tr.t(`admin.calendar.${m as 'caldav' | 'ics'}`) })),
      },
      { name: 'url', label: 'admin.calendar.url', kind: 'text', required: true, maxLength: 2048 },
      { name: 'username', label: 'admin.calendar.username', kind: 'text', maxLength: 256 },
      { name: 'password', label: 'admin.calendar.password', kind: 'password', maxLength: 1024, hint: 'admin.users.keepHint' },
      { name: 'discover', label: 'admin.calendar.discover', kind: 'check', hint: 'admin.calendar.discoverHint' },
    ],
    'admin.calendar.save',
    async (v) => {
      const id = v.user as string;
      await ctx.api.putCalendarSource(id, {
        mode: v.mode as 'caldav' | 'ics',
        url: v.url as string,
        discover: v.discover as boolean,
        ...defined({ username: v.username as string | undefined, password: v.password as string | undefined }),
      });
      await loadSource(id);
      return tr.t('admin.calendar.saved', { user: id });
    },
  );
  const userSelect = form.element.querySelector('select');
  userSelect?.addEventListener('change', () => void loadSource(userSelect.value));
  element.append(...form.nodes, table.element);

  async function loadSource(id: string): Promise<void> {
    user = id;
    try {
      source = id ? await ctx.api.calendarSource(id) : null;
    } catch (error) {
      source = null;
      form.show(tr.t('admin.error', { message: errorText(tr, error) }), true);
    }
    redraw();
  }

  async function remove(): Promise<void> {
    const id = user;
    await form.report(
      async () => {
        await ctx.api.deleteCalendarSource(id);
        await loadSource(id);
      },
      () => tr.t('admin.calendar.deleted', { user: id }),
    );
  }

  function statusText(s: CalendarSource): string {
    const status = s.status;
    if (status?.ok === undefined) return tr.t('admin.calendar.pending');
    return status.ok ? tr.t('admin.calendar.ok') : tr.t('admin.calendar.failed', { error: status.error ?? '' });
  }

  function redraw(): void {
    form.refreshOptions();
    if (userSelect && user) userSelect.value = user;
    const s = source;
    table.render(
      s
        ? [
            {
              key: user,
              cells: [
                user,
                tr.t(`admin.calendar.${s.mode ?? 'caldav'}`),
                s.url,
                s.username ?? '',
                ctx.yesNo(s.password_set),
                statusText(s),
                s.status?.last_sync ? formatTime(tr, s.status.last_sync) : '',
              ],
              actions: [
                {
                  label: 'admin.edit',
                  name: tr.t('admin.calendar.editLabel', { user }),
                  run: () => form.fill({ user, mode: s.mode, url: s.url, username: s.username, discover: s.discover }),
                },
                { label: 'admin.calendar.refresh', name: tr.t('admin.calendar.refreshLabel', { user }), run: () => void loadSource(user) },
                { label: 'admin.delete', name: tr.t('admin.calendar.deleteLabel', { user }), run: () => void remove() },
              ],
            },
          ]
        : [],
    );
  }

  return { element, load: () => loadSource(user), redraw };
}
