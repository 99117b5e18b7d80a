// What the console's panels share: the page, the API, the translations and the directory data
// that fills their choices (users, groups, states, shared profiles).
import type { Api, Group, Profile, State, User } from '../api';
import type { Translator } from '../i18n';
import type { Option } from './kit';

export interface ConsolePanel {
  element: HTMLElement;
  // Reads the panel's data from the server and draws it.
  load(): Promise<void>;
  // Redraws from what was read (a language switch, other panels' data changed).
  redraw(): void;
}

export class ConsoleContext {
  users: User[] = [];
  groups: Group[] = [];
  states: State[] = [];
  profiles: Profile[] = [];
  private readonly listeners: (() => void)[] = [];

  constructor(
    readonly doc: Document,
    private readonly currentApi: () => Api,
    readonly tr: Translator,
  ) {}

  get api(): Api {
    return this.currentApi();
  }

  // Panels redraw when the shared data changes (a new user shows in every user choice).
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  changed(): void {
    for (const listener of this.listeners) listener();
  }

  async reloadUsers(): Promise<void> {
    this.users = await this.api.directory('');
    this.changed();
  }

  async reloadGroups(): Promise<void> {
    this.groups = await this.api.groups();
    this.changed();
  }

  async reloadProfiles(): Promise<void> {
    this.profiles = await this.api.sharedProfiles();
    this.changed();
  }

  userOptions(): Option[] {
    return this.users.map((u) => ({ value: u.id ?? '', label: u.display_name && u.display_name !== u.id ? `${u.display_name} (${u.id})` : (u.id ?? '') }));
  }

  // With none first: "" clears a user's login or logout state.
  stateOptions(withNone: boolean): Option[] {
    const states = [...this.states]
      .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
      .map((s) => ({ value: s.id ?? '', label: this.stateName(s) }));
    return withNone ? [{ value: '', label: this.tr.t('admin.none') }, ...states] : states;
  }

  stateName(state: State): string {
    const id = state.id ?? '';
    return state.built_in ? this.tr.tOr(`state.${id}`, state.message || id) : state.message || id;
  }

  profileOptions(): Option[] {
    return this.profiles.map((p) => ({ value: p.id ?? '', label: p.name || p.id || '' }));
  }

  yesNo(value: boolean | undefined): string {
    return this.tr.t(value ? 'admin.yes' : 'admin.no');
  }
}
