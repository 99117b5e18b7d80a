// The console's presence policy: shared profiles and who may or must use them, the automatic
// action per state type, the visibility default and minimum, and queues with the states that
// admit their agents.
import type { ApiKey, Profile, Queue, StateActions } from '../api';
import type { components } from '../api-types';
import type { ConsoleContext, ConsolePanel } from './context';
import { defined, Form, panel, subheading, Table } from './kit';
import { stateTypes } from './states';

type Level = NonNullable<components['schemas']['Policy']['default_level']>;
type Strategy = NonNullable<Queue['strategy']>;
type QueueAvailability = NonNullable<Queue['availabilities']>[number];
type QueueActivity = NonNullable<Queue['activities']>[number];
type Action = NonNullable<StateActions['available']>;

const levels: Level[] = ['blocked', 'public', 'business', 'team', 'personal'];
const strategies: Strategy[] = ['ring_all', 'longest_idle', 'round_robin'];
const actions: Action[] = ['none', 'dnd', 'find_me'];
const queueAvailabilities: QueueAvailability[] = ['Available', 'AvailableIdle', 'Away', 'BeRightBack', 'Busy', 'BusyIdle', 'DoNotDisturb'];
const queueActivities: QueueActivity[] = [
  'Available',
  'Away',
  'BeRightBack',
  'Busy',
  'DoNotDisturb',
  'InACall',
  'InAConferenceCall',
  'Inactive',
  'InAMeeting',
  'OffWork',
  'OutOfOffice',
  'Presenting',
  'UrgentInterruptionsOnly',
];

export function profilesPanel(ctx: ConsoleContext): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-profiles', 'admin.profiles.heading');
  const table = new Table(doc, tr, 'console-profiles-rows', [
    'admin.profiles.id',
    'admin.profiles.name',
    'admin.profiles.state',
    'admin.profiles.note',
    'admin.profiles.duration',
    'admin.profiles.who',
  ]);
  const form = new Form(
    doc,
    tr,
    'console-profile',
    [
      { name: 'id', label: 'admin.profiles.id', kind: 'id', required: true },
      { name: 'name', label: 'admin.profiles.name', kind: 'text', maxLength: 256 },
      { name: 'state', label: 'admin.profiles.state', kind: 'select', required: true, options: () => ctx.stateOptions(false) },
      { name: 'note', label: 'admin.profiles.note', kind: 'text', maxLength: 1024 },
      { name: 'duration_min', label: 'admin.profiles.duration', kind: 'number', min: 1, max: 44640 },
      { name: 'idle_minutes', label: 'admin.users.idle', kind: 'number', min: 1, max: 1440 },
      { name: 'users', label: 'admin.profiles.users', kind: 'ids', hint: 'admin.profiles.everyoneHint' },
      { name: 'groups', label: 'admin.profiles.groups', kind: 'ids', hint: 'admin.profiles.everyoneHint' },
    ],
    'admin.profiles.save',
    async (v) => {
      const id = v.id as string;
      await ctx.api.putProfile(id, {
        state: v.state as string,
        ...defined({
          name: v.name as string | undefined,
          note: v.note as string | undefined,
          duration_min: v.duration_min as number | undefined,
          idle_minutes: v.idle_minutes as number | undefined,
          users: v.users as string[] | undefined,
          groups: v.groups as string[] | undefined,
        }),
      });
      await ctx.reloadProfiles();
      return tr.t('admin.profiles.saved', { id });
    },
  );
  // "Must use": an admin selects the profile for the user and enforces it (the user cannot change it).
  const enforce = new Form(
    doc,
    tr,
    'console-enforce',
    [
      { name: 'user', label: 'admin.users.user', kind: 'select', required: true, options: () => ctx.userOptions() },
      { name: 'profile', label: 'admin.profiles.profile', kind: 'select', required: true, options: () => ctx.profileOptions() },
    ],
    'admin.profiles.enforce',
    async (v) => {
      await ctx.api.enforceProfile(v.user as string, v.profile as string);
      return tr.t('admin.profiles.enforced', { id: v.profile as string, user: v.user as string });
    },
  );
  element.append(
    table.element,
    subheading(doc, tr, 'admin.profiles.new'),
    ...form.nodes,
    subheading(doc, tr, 'admin.profiles.mustUse'),
    ...enforce.nodes,
  );

  async function remove(profile: Profile): Promise<void> {
    const id = profile.id ?? '';
    await form.report(
      async () => {
        await ctx.api.deleteProfile(id);
        await ctx.reloadProfiles();
      },
      () => tr.t('admin.profiles.deleted', { id }),
    );
  }

  function who(profile: Profile): string {
    const names = [...(profile.users ?? []), ...(profile.groups ?? []).map((g) => tr.t('admin.profiles.group', { id: g }))];
    return names.length === 0 ? tr.t('admin.profiles.everyone') : names.join(', ');
  }

  function redraw(): void {
    table.render(
      ctx.profiles.map((profile) => {
        const id = profile.id ?? '';
        const state = ctx.states.find((s) => s.id === profile.state);
        return {
          key: id,
          cells: [id, profile.name ?? '', state ? ctx.stateName(state) : profile.state, profile.note ?? '', String(profile.duration_min ?? ''), who(profile)],
          actions: [
            {
              label: 'admin.edit',
              name: tr.t('admin.profiles.editLabel', { id }),
              run: () =>
                form.fill({
                  id,
                  name: profile.name,
                  state: profile.state,
                  note: profile.note,
                  duration_min: profile.duration_min ?? undefined,
                  idle_minutes: profile.idle_minutes ?? undefined,
                  users: profile.users ?? undefined,
                  groups: profile.groups ?? undefined,
                }),
            },
            { label: 'admin.delete', name: tr.t('admin.profiles.deleteLabel', { id }), run: () => void remove(profile) },
          ],
        };
      }),
    );
    form.refreshOptions();
    enforce.refreshOptions();
  }

  return { element, load: () => ctx.reloadProfiles(), redraw };
}

export function rulesPanel(ctx: ConsoleContext): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-rules', 'admin.rules.heading');
  const levelOptions = () => levels.map((l) => ({ value: l, label: tr.t(`level.${l}`) }));
  const policy = new Form(
    doc,
    tr,
    'console-policy',
    [
      { name: 'default_level', label: 'admin.rules.defaultLevel', kind: 'select', required: true, options: levelOptions },
      { name: 'minimum', label: 'admin.rules.minimum', kind: 'select', required: true, options: levelOptions },
    ],
    'admin.rules.savePolicy',
    async (v) => {
      const saved = await ctx.api.putPolicy({ default_level: v.default_level as Level, minimum: v.minimum as Level });
      policy.fill({ ...saved });
      return tr.t('admin.rules.policySaved');
    },
  );
  const actionOptions = () => actions.map((a) => ({ value: a, label: tr.t(`action.${a}`) }));
  const stateActions = new Form(
    doc,
    tr,
    'console-actions',
    stateTypes.map((type) => ({ name: type, label: `type.${type}` as const, kind: 'select' as const, options: actionOptions })),
    'admin.rules.saveActions',
    async (v) => {
      const body = Object.fromEntries(stateTypes.map((t) => [t, v[t] as Action])) as StateActions;
      stateActions.fill({ ...(await ctx.api.putStateActions(body)) });
      return tr.t('admin.rules.actionsSaved');
    },
  );
  element.append(
    subheading(doc, tr, 'admin.rules.visibility'),
    ...policy.nodes,
    subheading(doc, tr, 'admin.rules.actions'),
    ...stateActions.nodes,
  );
  let loaded: { policy: object; actions: object } = { policy: {}, actions: {} };

  async function load(): Promise<void> {
    const [p, a] = await Promise.all([ctx.api.policy(), ctx.api.stateActions()]);
    loaded = { policy: p, actions: a };
    redraw();
  }

  function redraw(): void {
    policy.fill({ ...loaded.policy });
    stateActions.fill({ ...loaded.actions });
  }

  return { element, load, redraw };
}

export function queuesPanel(ctx: ConsoleContext): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-queues', 'admin.queues.heading');
  const table = new Table(doc, tr, 'console-queues-rows', [
    'admin.queues.id',
    'admin.queues.members',
    'admin.queues.strategy',
    'admin.queues.admitted',
  ]);
  let queues: Queue[] = [];
  const form = new Form(
    doc,
    tr,
    'console-queue',
    [
      { name: 'id', label: 'admin.queues.id', kind: 'id', required: true },
      { name: 'members', label: 'admin.queues.members', kind: 'ids', required: true, hint: 'admin.idsHint' },
      {
        name: 'strategy',
        label: 'admin.queues.strategy',
        kind: 'select',
        options: () => strategies.map((s) => ({ value: s, label: tr.t(`strategy.${s}`) })),
      },
      { name: 'agent_ring_s', label: 'admin.queues.ring', kind: 'number', min: 1, max: 600 },
      { name: 'presence_based', label: 'admin.queues.presenceBased', kind: 'check' },
      {
        name: 'availabilities',
        label: 'admin.queues.availabilities',
        kind: 'checks',
        options: () => queueAvailabilities.map((a) => ({ value: a, label: tr.tOr(`availability.${a}`, a) })),
      },
      {
        name: 'activities',
        label: 'admin.queues.activities',
        kind: 'checks',
        options: () => queueActivities.map((a) => ({ value: a, label: tr.tOr(`activity.${a}`, a) })),
      },
    ],
    'admin.queues.save',
    async (v) => {
      const id = v.id as string;
      await ctx.api.putQueue(id, {
        members: v.members as string[],
        presence_based: v.presence_based as boolean,
        availabilities: v.availabilities as QueueAvailability[],
        activities: v.activities as QueueActivity[],
        ...defined({ strategy: v.strategy as Strategy | undefined, agent_ring_s: v.agent_ring_s as number | undefined }),
      });
      await load();
      return tr.t('admin.queues.saved', { id });
    },
  );
  element.append(table.element, subheading(doc, tr, 'admin.queues.new'), ...form.nodes);
  form.fill({ presence_based: true, availabilities: ['Available'], strategy: 'ring_all' });

  async function load(): Promise<void> {
    queues = await ctx.api.queues();
    redraw();
  }

  async function remove(id: string): Promise<void> {
    await form.report(
      async () => {
        await ctx.api.deleteQueue(id);
        await load();
      },
      () => tr.t('admin.queues.deleted', { id }),
    );
  }

  function admitted(queue: Queue): string {
    if (queue.presence_based === false) return tr.t('admin.queues.anyFree');
    return [
      ...(queue.availabilities ?? []).map((a) => tr.tOr(`availability.${a}`, a)),
      ...(queue.activities ?? []).map((a) => tr.tOr(`activity.${a}`, a)),
    ].join(', ');
  }

  function redraw(): void {
    table.render(
      queues.map((queue) => {
        const id = queue.id ?? '';
        return {
          key: id,
          cells: [id, queue.members.join(', '), tr.tOr(`strategy.${queue.strategy}`, queue.strategy ?? ''), admitted(queue)],
          actions: [
            { label: 'admin.edit', name: tr.t('admin.queues.editLabel', { id }), run: () => form.fill({ ...queue }) },
            { label: 'admin.delete', name: tr.t('admin.queues.deleteLabel', { id }), run: () => void remove(id) },
          ],
        };
      }),
    );
    form.refreshOptions();
  }

  return { element, load, redraw };
}

export function apiKeysPanel(ctx: ConsoleContext): ConsolePanel {
  const { doc, tr } = ctx;
  const element = panel(doc, tr, 'console-keys', 'admin.keys.heading');
  const table = new Table(doc, tr, 'console-keys-rows', ['admin.keys.id', 'admin.users.user', 'admin.keys.label', 'admin.keys.expires']);
  let keys: ApiKey[] = [];
  const hint = doc.createElement('p');
  hint.className = 'hint';
  hint.dataset.i18n = 'admin.keys.hint';
  hint.textContent = tr.t('admin.keys.hint');
  const token = doc.createElement('output');
  token.id = 'console-key-token';
  token.className = 'token';
  const form = new Form(
    doc,
    tr,
    'console-key',
    [
      { name: 'user', label: 'admin.users.user', kind: 'select', required: true, options: () => ctx.userOptions() },
      { name: 'label', label: 'admin.keys.label', kind: 'text', required: true, maxLength: 256 },
      { name: 'days', label: 'admin.keys.days', kind: 'number', min: 1, max: 3650 },
    ],
    'admin.keys.create',
    async (v) => {
      token.textContent = '';
      const key = await ctx.api.createApiKey({
        user: v.user as string,
        label: v.label as string,
        ...defined({ days: v.days as number | undefined }),
      });
      token.textContent = key.token;
      await load();
      return tr.t('admin.keys.created', { user: key.user, time: day(key.expires_at) });
    },
  );
  element.append(table.element, subheading(doc, tr, 'admin.keys.new'), hint, ...form.nodes, token);

  function day(iso: string): string {
    return new Date(iso).toLocaleDateString(tr.language);
  }

  async function load(): Promise<void> {
    keys = await ctx.api.apiKeys();
    redraw();
  }

  async function revoke(key: ApiKey): Promise<void> {
    await form.report(
      async () => {
        await ctx.api.revokeApiKey(key.id);
        await load();
      },
      () => tr.t('admin.keys.revoked', { label: key.label, user: key.user }),
    );
  }

  function redraw(): void {
    table.render(
      keys.map((key) => ({
        key: key.id,
        cells: [key.id, key.user, key.label, day(key.expires_at)],
        actions: [{ label: 'admin.keys.revoke', name: tr.t('admin.keys.revokeLabel', { label: key.label, user: key.user }), run: () => void revoke(key) }],
      })),
    );
    form.refreshOptions();
  }

  return { element, load, redraw };
}
