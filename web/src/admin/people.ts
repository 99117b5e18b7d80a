// The console's users, groups and devices: create, edit (role, groups, login and logout state,
// idle minutes, password, SIP password), delete; devices and their SIP passwords per user.
import type { Device, Group, User } from '../api';
import type { ConsoleContext, ConsolePanel } from './context';
import { defined, errorText, Form, panel, subheading, Table, type Values } from './kit';

const roles = ['user', 'admin', 'system'] as const;
type Role = (typeof roles)[number];

export function usersPanel(ctx: ConsoleContext, showDevices: (user: string) => void): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-users', 'admin.users.heading');
  const table = new Table(doc, tr, 'console-users-rows', [
    'admin.users.id',
    'admin.users.name',
    'admin.users.role',
    'admin.users.groups',
    'admin.users.loginState',
    'admin.users.logoutState',
    'admin.users.idle',
    'admin.users.sip',
  ]);
  const roleOptions = () => roles.map((r) => ({ value: r, label: tr.tOr(`role.${r}`, r) }));
  const create = new Form(
    doc,
    tr,
    'console-user-new',
    [
      { name: 'id', label: 'admin.users.id', kind: 'id', required: true },
      { name: 'display_name', label: 'admin.users.name', kind: 'text', maxLength: 256 },
      { name: 'password', label: 'admin.users.password', kind: 'password', required: true, maxLength: 1024 },
      { name: 'role', label: 'admin.users.role', kind: 'select', options: roleOptions },
      { name: 'groups', label: 'admin.users.groups', kind: 'ids', hint: 'admin.idsHint' },
    ],
    'admin.users.create',
    async (v) => {
      const user = await ctx.api.createUser({
        id: v.id as string,
        password: v.password as string,
        role: v.role as Role,
        ...defined({ display_name: v.display_name as string | undefined, groups: v.groups as string[] | undefined }),
      });
      await reloadPeople();
      create.fill({ role: 'user' });
      return tr.t('admin.users.created', { id: user.id ?? '' });
    },
  );
  const edit = new Form(
    doc,
    tr,
    'console-user-edit',
    [
      { name: 'user', label: 'admin.users.user', kind: 'select', required: true, options: () => ctx.userOptions() },
      { name: 'display_name', label: 'admin.users.name', kind: 'text', maxLength: 256 },
      { name: 'role', label: 'admin.users.role', kind: 'select', options: roleOptions },
      { name: 'groups', label: 'admin.users.groups', kind: 'ids', hint: 'admin.idsHint' },
      { name: 'login_state', label: 'admin.users.loginState', kind: 'select', options: () => ctx.stateOptions(true) },
      { name: 'logout_state', label: 'admin.users.logoutState', kind: 'select', options: () => ctx.stateOptions(true) },
      { name: 'idle_minutes', label: 'admin.users.idle', kind: 'number', min: 1, max: 1440 },
      { name: 'password', label: 'admin.users.newPassword', kind: 'password', maxLength: 1024, hint: 'admin.users.keepHint' },
      { name: 'sip_password', label: 'admin.users.sipPassword', kind: 'password', maxLength: 1024, hint: 'admin.users.keepHint' },
    ],
    'admin.users.save',
    async (v) => {
      const id = v.user as string;
      await ctx.api.updateUser(id, {
        role: v.role as Role,
        groups: (v.groups as string[] | undefined) ?? [],
        login_state: (v.login_state as string | undefined) ?? '',
        logout_state: (v.logout_state as string | undefined) ?? '',
        ...defined({
          display_name: v.display_name as string | undefined,
          idle_minutes: v.idle_minutes as number | undefined,
          password: v.password as string | undefined,
          sip_password: v.sip_password as string | undefined,
        }),
      });
      await reloadPeople();
      return tr.t('admin.users.saved', { id });
    },
  );
  const editSelect = edit.element.querySelector('select');
  editSelect?.addEventListener('change', () => fillEdit(editSelect.value));
  const createHeading = subheading(doc, tr, 'admin.users.new');
  const editHeading = subheading(doc, tr, 'admin.users.edit');
  element.append(table.element, createHeading, ...create.nodes, editHeading, ...edit.nodes);
  create.fill({ role: 'user' });

  // Membership is set on the user and shown on the group.
  async function reloadPeople(): Promise<void> {
    await Promise.all([ctx.reloadUsers(), ctx.reloadGroups()]);
  }

  function fillEdit(id: string): void {
    const user = ctx.users.find((u) => u.id === id);
    if (!user) return;
    const values: Values = {
      user: id,
      display_name: user.display_name,
      role: user.role,
      groups: user.groups,
      login_state: user.settings?.login_state ?? '',
      logout_state: user.settings?.logout_state ?? '',
      idle_minutes: user.settings?.idle_minutes,
    };
    edit.fill(values);
  }

  async function remove(user: User): Promise<void> {
    const id = user.id ?? '';
    if (!window.confirm(tr.t('admin.users.confirmDelete', { id }))) return;
    await edit.report(
      async () => {
        await ctx.api.deleteUser(id);
        await reloadPeople();
      },
      () => tr.t('admin.users.deleted', { id }),
    );
  }

  function redraw(): void {
    const stateName = (id: string | undefined) => {
      const state = ctx.states.find((s) => s.id === id);
      return state ? ctx.stateName(state) : (id ?? '');
    };
    table.render(
      ctx.users.map((user) => {
        const id = user.id ?? '';
        return {
          key: id,
          cells: [
            id,
            user.display_name ?? '',
            tr.tOr(`role.${user.role}`, user.role ?? ''),
            (user.groups ?? []).join(', '),
            stateName(user.settings?.login_state),
            stateName(user.settings?.logout_state),
            String(user.settings?.idle_minutes ?? ''),
            ctx.yesNo(user.has_sip_password),
          ],
          actions: [
            {
              label: 'admin.edit',
              name: tr.t('admin.users.editLabel', { id }),
              run: () => {
                fillEdit(id);
                edit.element.querySelector<HTMLElement>('input, select')?.focus();
              },
            },
            { label: 'admin.users.devices', name: tr.t('admin.users.devicesLabel', { id }), run: () => showDevices(id) },
            { label: 'admin.delete', name: tr.t('admin.users.deleteLabel', { id }), run: () => void remove(user) },
          ],
        };
      }),
    );
    create.refreshOptions();
    const selected = editSelect?.value ?? '';
    edit.refreshOptions();
    if (!selected && ctx.users[0]?.id) fillEdit(ctx.users[0].id);
  }

  return { element, load: () => ctx.reloadUsers(), redraw };
}

export function groupsPanel(ctx: ConsoleContext): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-groups', 'admin.groups.heading');
  const table = new Table(doc, tr, 'console-groups-rows', ['admin.groups.id', 'admin.groups.name', 'admin.groups.members']);
  const form = new Form(
    doc,
    tr,
    'console-group',
    [
      { name: 'id', label: 'admin.groups.id', kind: 'id', required: true },
      { name: 'display_name', label: 'admin.groups.name', kind: 'text', maxLength: 256 },
    ],
    'admin.groups.save',
    async (v) => {
      const id = v.id as string;
      await ctx.api.putGroup(id, (v.display_name as string | undefined) ?? id);
      await ctx.reloadGroups();
      return tr.t('admin.groups.saved', { id });
    },
  );
  element.append(table.element, subheading(doc, tr, 'admin.groups.new'), ...form.nodes);

  async function remove(group: Group): Promise<void> {
    await form.report(
      async () => {
        await ctx.api.deleteGroup(group.id);
        await ctx.reloadGroups();
      },
      () => tr.t('admin.groups.deleted', { id: group.id }),
    );
  }

  function redraw(): void {
    table.render(
      ctx.groups.map((group) => ({
        key: group.id,
        cells: [group.id, group.display_name, (group.members ?? []).join(', ')],
        actions: [
          {
            label: 'admin.edit',
            name: tr.t('admin.groups.editLabel', { id: group.id }),
            run: () => form.fill({ id: group.id, display_name: group.display_name }),
          },
          { label: 'admin.delete', name: tr.t('admin.groups.deleteLabel', { id: group.id }), run: () => void remove(group) },
        ],
      })),
    );
  }

  return { element, load: () => ctx.reloadGroups(), redraw };
}

export interface DevicesPanel extends ConsolePanel {
  showUser(user: string): void;
}

export function devicesPanel(ctx: ConsoleContext): DevicesPanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-devices', 'admin.devices.heading');
  const table = new Table(doc, tr, 'console-devices-rows', ['admin.devices.device', 'admin.devices.label', 'admin.users.sip']);
  let devices: Device[] = [];
  let user = '';
  const form = new Form(
    doc,
    tr,
    'console-device',
    [
      { name: 'user', label: 'admin.users.user', kind: 'select', required: true, options: () => ctx.userOptions() },
      { name: 'device', label: 'admin.devices.device', kind: 'id', required: true },
      { name: 'label', label: 'admin.devices.label', kind: 'text', maxLength: 256 },
      { name: 'sip_password', label: 'admin.users.sipPassword', kind: 'password', maxLength: 1024, hint: 'admin.users.keepHint' },
    ],
    'admin.devices.save',
    async (v) => {
      const device = v.device as string;
      await ctx.api.putDevice(v.user as string, {
        device,
        ...defined({ label: v.label as string | undefined, sip_password: v.sip_password as string | undefined }),
      });
      await loadDevices(v.user as string);
      return tr.t('admin.devices.saved', { device, user: v.user as string });
    },
  );
  const userSelect = form.element.querySelector('select');
  userSelect?.addEventListener('change', () => void loadDevices(userSelect.value));
  // The table shows the devices of the user chosen in the form.
  element.append(...form.nodes, table.element);

  async function loadDevices(id: string): Promise<void> {
    user = id;
    if (userSelect && userSelect.value !== id) userSelect.value = id;
    try {
      devices = id ? await ctx.api.devices(id) : [];
    } catch (error) {
      devices = [];
      form.show(tr.t('admin.error', { message: errorText(tr, error) }), true);
    }
    redraw();
  }

  async function remove(device: Device): Promise<void> {
    await form.report(
      async () => {
        await ctx.api.deleteDevice(user, device.device);
        await loadDevices(user);
      },
      () => tr.t('admin.devices.deleted', { device: device.device, user }),
    );
  }

  function redraw(): void {
    form.refreshOptions();
    if (userSelect && user) userSelect.value = user;
    table.render(
      devices.map((device) => ({
        key: device.device,
        cells: [device.device, device.label, ctx.yesNo(device.has_sip_password)],
        actions: [
          {
            label: 'admin.edit',
            name: tr.t('admin.devices.editLabel', { device: device.device }),
            run: () => form.fill({ user, device: device.device, label: device.label }),
          },
          { label: 'admin.delete', name: tr.t('admin.devices.deleteLabel', { device: device.device }), run: () => void remove(device) },
        ],
      })),
    );
  }

  return {
    element,
    load: () => loadDevices(user || (ctx.users[0]?.id ?? '')),
    redraw,
    showUser: (id) => {
      void loadDevices(id);
      element.scrollIntoView();
      userSelect?.focus();
    },
  };
}
