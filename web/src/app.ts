// Wires the page: sign-in, my presence, contacts and the directory, all fed by one store that
// the REST answers and the WebSocket events write into.
import { Api, ApiError, type Group, type Presence, type Profile, type ProfileSelection, type State, type User } from './api';
import { Console } from './admin/console';
import { LiveConnection, type LinkStatus } from './connection';
import { languages, pickLanguage, Translator, type Language, type MessageKey } from './i18n';
import { presenceIcon } from './icons';
import { formatTime, renderPerson } from './person';
import { RemoteContacts } from './remote';
import { sortStates } from './states';
import { PresenceStore } from './store';
import { applyTheme, effectiveTheme, loadTheme, saveTheme } from './theme';

const tokenKey = 'presenced.token';
const languageKey = 'presenced.language';
const searchLimit = 50;
// After this long without keyboard or pointer input the page reports idle; the server's idle
// minutes decide when that shows as Inactive.
const idleAfterMs = 60_000;
// Rules whose server detail adds to the translated reason (which call, on which device).
const detailedRules = new Set(['call', 'call_protection', 'system_overrides_manual']);

export class App {
  private readonly tr: Translator;
  private api = new Api();
  private readonly store = new PresenceStore();
  private live: LiveConnection | null = null;
  private me: User | null = null;
  private readonly names = new Map<string, string>();
  private readonly rows = new Map<string, Set<HTMLElement>>();
  private readonly dirty = new Set<string>();
  private frame = 0;
  private searchTimer = 0;
  private searchSerial = 0;
  private selection: ProfileSelection | null = null;
  private groups: Group[] = [];
  private readonly console: Console;
  private readonly remote: RemoteContacts;
  private consoleOpen = false;
  private lastInput = new Date();
  private idle = false;

  constructor(private readonly doc: Document) {
    const saved = localStorage.getItem(languageKey);
    const language = languages.find((l) => l === saved) ?? pickLanguage(navigator.languages ?? []);
    this.tr = new Translator(language);
    this.store.subscribe((user) => this.changed(user));
    this.console = new Console(this.el('console'), () => this.api, this.tr, (states) => this.statesChanged(states));
    this.remote = new RemoteContacts(doc, this.tr, () => this.api, () => this.myId(), () => this.reloadContacts());
  }

  start(): void {
    applyTheme(this.doc, loadTheme());
    this.translatePage();
    this.on('language', 'change', () => this.setLanguage(this.input<HTMLSelectElement>('language').value));
    this.on('theme', 'click', () => {
      const next = effectiveTheme(this.doc) === 'dark' ? 'light' : 'dark';
      saveTheme(next);
      applyTheme(this.doc, next);
      this.translatePage();
    });
    this.on('logout', 'click', () => this.signOut());
    this.on('console-toggle', 'click', () => this.showConsole(!this.consoleOpen));
    this.on('login-form', 'submit', (event) => {
      event.preventDefault();
      void this.signIn();
    });
    this.on('me-form', 'submit', (event) => {
      event.preventDefault();
      void this.setManual();
    });
    this.on('me-clear', 'click', () => void this.clearManual());
    this.on('profile-form', 'submit', (event) => {
      event.preventDefault();
      void this.useProfile(() => this.api.selectProfile(this.myId(), this.input<HTMLSelectElement>('profile').value));
    });
    this.on('profile-end', 'click', () => void this.useProfile(() => this.api.endProfile(this.myId())));
    this.on('search', 'input', () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => void this.search(), 200);
    });
    for (const type of ['keydown', 'pointerdown', 'pointermove', 'wheel']) {
      this.doc.addEventListener(type, () => this.active(), { passive: true });
    }
    window.setInterval(() => this.checkIdle(), idleAfterMs / 4);
    const token = sessionStorage.getItem(tokenKey);
    if (token) {
      this.api = new Api(token);
      void this.enter().catch(() => this.showLogin());
    } else {
      this.showLogin();
    }
  }

  private async signIn(): Promise<void> {
    const message = this.el('login-message');
    message.textContent = '';
    try {
      const api = new Api();
      await api.login(this.input<HTMLInputElement>('login-user').value.trim(), this.input<HTMLInputElement>('login-password').value);
      this.api = api;
      sessionStorage.setItem(tokenKey, api.accessToken);
      await this.enter();
    } catch (error) {
      message.textContent = this.tr.t('login.failed', { message: this.errorText(error) });
    }
  }

  private signOut(): void {
    const live = this.live;
    this.live = null;
    live?.stop();
    sessionStorage.removeItem(tokenKey);
    this.api = new Api();
    this.me = null;
    this.selection = null;
    this.store.clear();
    this.rows.clear();
    this.el('contact-list').replaceChildren();
    this.remote.clear();
    this.el('group-list').replaceChildren();
    this.el('search-results').replaceChildren();
    this.showLogin();
  }

  private async enter(): Promise<void> {
    const me = await this.api.me();
    const id = me.id ?? '';
    this.me = me;
    const [states, contacts, people, profiles, selection, groups] = await Promise.all([
      this.api.states(),
      this.api.contacts(id),
      this.api.directory(''),
      this.api.profiles(id),
      this.api.selection(id),
      this.api.groups(),
      this.remote.load(),
    ]);
    for (const user of people) if (user.id) this.names.set(user.id, user.display_name || user.id);
    this.names.set(id, me.display_name || id);
    this.statesChanged(states);
    this.show('console-toggle', me.role === 'admin');
    this.fillProfiles(profiles);
    this.selection = selection;
    this.showContacts(contacts);
    this.groups = groups;
    this.showGroups();
    this.store.apply(await this.api.presence(id));
    this.show('login', false);
    for (const section of ['me', 'contacts', 'directory', 'logout']) this.show(section, true);
    this.el('whoami').textContent = this.tr.t('me.signedInAs', { name: this.names.get(id) ?? id });
    this.input<HTMLInputElement>('login-password').value = '';
    this.live = new LiveConnection({
      url: () => {
        const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
        return `${scheme}//${location.host}/api/v1/ws?access_token=${encodeURIComponent(this.api.accessToken)}`;
      },
      store: this.store,
      onStatus: (status) => this.linkChanged(status),
    });
    this.live.watch([id, ...contacts, ...groups.flatMap((g) => g.members)]);
    this.live.start();
    this.renderMe();
  }

  // The admin's default state first (and chosen while no state is in force), then by order.
  private fillStates(states: State[]): void {
    const select = this.input<HTMLSelectElement>('me-state');
    const sorted = sortStates(states);
    select.replaceChildren(
      ...sorted
        .filter((s) => s.id)
        .map((s) => {
          const option = this.doc.createElement('option');
          option.value = s.id ?? '';
          option.dataset.builtIn = String(Boolean(s.built_in));
          option.dataset.message = s.message ?? '';
          option.textContent = this.stateName(s.id ?? '', s.built_in ?? false, s.message);
          return option;
        }),
    );
    const current = this.me?.id ? this.store.get(this.me.id)?.state : undefined;
    const fallback = sorted.find((s) => s.default)?.id;
    if (current && [...select.options].some((o) => o.value === current)) select.value = current;
    else if (fallback) select.value = fallback;
  }

  private statesChanged(states: State[]): void {
    this.fillStates(states);
    if (this.me?.role === 'admin') this.console.setStates(states);
    this.renderMe();
  }

  private fillProfiles(profiles: Profile[]): void {
    const select = this.input<HTMLSelectElement>('profile');
    select.replaceChildren(
      ...profiles
        .filter((p) => p.id)
        .map((p) => {
          const option = this.doc.createElement('option');
          option.value = p.id ?? '';
          option.textContent = p.name || p.id || '';
          return option;
        }),
    );
    this.show('profile-form', profiles.length > 0);
  }

  private async useProfile(request: () => Promise<ProfileSelection>): Promise<void> {
    const message = this.el('me-message');
    message.classList.remove('message--error');
    try {
      await request();
      // The selection changes the manual state; its event follows, this read is only sooner.
      await this.refreshMe();
      message.textContent = this.tr.t('me.saved');
    } catch (error) {
      message.classList.add('message--error');
      message.textContent = this.tr.t('me.error', { message: this.errorText(error) });
    }
  }

  private async refreshMe(): Promise<void> {
    try {
      const [presence, selection] = await Promise.all([this.api.presence(this.myId()), this.api.selection(this.myId())]);
      this.selection = selection;
      if (!this.store.apply(presence)) this.renderMe();
    } catch {
      // Offline: the next event or reconnect brings it.
    }
  }

  private myId(): string {
    return this.me?.id ?? '';
  }

  private stateName(id: string, builtIn: boolean, message?: string): string {
    if (builtIn) return this.tr.tOr(`state.${id}`, message || id);
    return message || id;
  }

  private showContacts(contacts: string[]): void {
    const list = this.el('contact-list');
    for (const li of list.querySelectorAll<HTMLElement>('li[data-user]')) this.rows.get(li.dataset.user ?? '')?.delete(li);
    list.replaceChildren(...contacts.map((user) => this.row(user)));
    this.show('contacts-empty', contacts.length === 0);
  }

  // A remote contact was added or removed.
  private async reloadContacts(): Promise<void> {
    const contacts = await this.api.contacts(this.myId());
    this.showContacts(contacts);
    this.live?.watch(contacts);
  }

  // Groups (seed 000): the group itself is a grey entry (it has no presence of its own), its
  // members live rows beneath it.
  private showGroups(): void {
    const list = this.el('group-list');
    for (const li of list.querySelectorAll<HTMLElement>('li[data-user]')) this.rows.get(li.dataset.user ?? '')?.delete(li);
    list.replaceChildren(
      ...this.groups.map((group) => {
        const section = this.doc.createElement('section');
        section.className = 'group';
        section.dataset.group = group.id;
        const name = group.display_name || group.id;
        const heading = this.doc.createElement('h4');
        heading.id = `group-${group.id}`;
        heading.className = 'group__name';
        const label = this.tr.t('groups.label', { name, count: String(group.members.length) });
        heading.append(presenceIcon('unknown', this.tr.t('groups.icon')), label);
        const members = this.doc.createElement('ul');
        members.className = 'people';
        members.setAttribute('aria-labelledby', heading.id);
        members.append(...group.members.map((user) => this.row(user)));
        section.append(heading, members);
        return section;
      }),
    );
    this.show('groups-heading', this.groups.length > 0);
  }

  private row(user: string): HTMLElement {
    const li = this.doc.createElement('li');
    li.dataset.user = user;
    li.tabIndex = 0;
    let set = this.rows.get(user);
    if (!set) {
      set = new Set();
      this.rows.set(user, set);
    }
    set.add(li);
    renderPerson(li, this.tr, this.names.get(user) ?? user, this.store.get(user));
    return li;
  }

  private async search(): Promise<void> {
    const serial = ++this.searchSerial;
    const query = this.input<HTMLInputElement>('search').value.trim();
    const list = this.el('search-results');
    for (const li of list.children) this.rows.get((li as HTMLElement).dataset.user ?? '')?.delete(li as HTMLElement);
    if (!query) {
      list.replaceChildren();
      this.el('search-count').textContent = '';
      return;
    }
    let users: User[];
    try {
      users = (await this.api.directory(query)).slice(0, searchLimit);
    } catch (error) {
      this.el('search-count').textContent = this.errorText(error);
      return;
    }
    if (serial !== this.searchSerial) return;
    const ids = users.map((u) => u.id ?? '').filter((id) => id);
    for (const user of users) if (user.id) this.names.set(user.id, user.display_name || user.id);
    list.replaceChildren(...ids.map((id) => this.row(id)));
    this.el('search-count').textContent =
      ids.length === 0 ? this.tr.t('search.none') : this.tr.t('search.results', { count: String(ids.length) });
    this.live?.watch(ids);
  }

  private async setManual(): Promise<void> {
    if (!this.me?.id) return;
    const state = this.input<HTMLSelectElement>('me-state').value;
    const note = this.input<HTMLInputElement>('me-note').value.trim();
    const until = this.input<HTMLInputElement>('me-until').value;
    const body: { state: string; note?: string; until?: string } = { state };
    if (note) body.note = note;
    if (until) body.until = new Date(until).toISOString();
    await this.change(() => this.api.setManual(this.me?.id ?? '', body));
  }

  private async clearManual(): Promise<void> {
    if (!this.me?.id) return;
    await this.change(() => this.api.clearManual(this.me?.id ?? ''));
    this.input<HTMLInputElement>('me-note').value = '';
    this.input<HTMLInputElement>('me-until').value = '';
  }

  private async change(request: () => Promise<Presence>): Promise<void> {
    const message = this.el('me-message');
    message.classList.remove('message--error');
    try {
      this.store.apply(await request());
      await this.refreshMe();
      message.textContent = this.tr.t('me.saved');
    } catch (error) {
      message.classList.add('message--error');
      message.textContent = this.tr.t('me.error', { message: this.errorText(error) });
    }
  }

  private changed(user: string): void {
    const id = this.me?.id;
    const presence = this.store.get(user);
    // WebSocket events leave out the explanation; only the user's own read carries it.
    // A profile may have ended with it (by its end time, or a state chosen by hand).
    if (user === id && presence && !presence.explanation) {
      void this.refreshMe();
    }
    this.dirty.add(user);
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.flush());
  }

  // Rows are redrawn once per frame, however many events arrived meanwhile.
  private flush(): void {
    this.frame = 0;
    for (const user of this.dirty) {
      for (const li of this.rows.get(user) ?? []) {
        renderPerson(li, this.tr, this.names.get(user) ?? user, this.store.get(user));
      }
      if (user === this.me?.id) this.renderMe();
    }
    this.dirty.clear();
  }

  private renderMe(): void {
    const id = this.me?.id;
    if (!id) return;
    const presence = this.store.get(id);
    renderPerson(this.el('me-current'), this.tr, this.names.get(id) ?? id, presence);
    this.el('me-current').classList.add('person--me');
    const why = presence?.explanation;
    const whyLine = this.el('me-why');
    if (why?.rule) {
      let reason = this.tr.tOr(`rule.${why.rule}`, this.tr.t('rule.other', { rule: why.rule }));
      if (why.detail && detailedRules.has(why.rule)) reason += ` (${why.detail})`;
      whyLine.textContent = this.tr.t('me.why', { reason });
    } else {
      whyLine.textContent = '';
    }
    if (presence?.state) this.input<HTMLSelectElement>('me-state').value = presence.state;
    const selected = this.selection?.profile;
    let profileLine = '';
    if (selected) {
      const name = this.selection?.settings?.name || selected;
      const until = this.selection?.until;
      profileLine = until
        ? this.tr.t('profile.currentUntil', { name, time: formatTime(this.tr, until) })
        : this.tr.t('profile.current', { name });
      this.input<HTMLSelectElement>('profile').value = selected;
    }
    this.el('profile-current').textContent = profileLine;
  }

  private active(): void {
    this.lastInput = new Date();
    if (this.idle) {
      this.idle = false;
      this.live?.reportInput('active', this.lastInput);
    }
  }

  private checkIdle(): void {
    if (!this.idle && Date.now() - this.lastInput.getTime() >= idleAfterMs) {
      this.idle = true;
      this.live?.reportInput('idle', this.lastInput);
    }
  }

  private linkChanged(status: LinkStatus): void {
    // A fresh session starts active; an idle one says so again after the reconnect.
    if (status === 'online' && this.idle) this.live?.reportInput('idle', this.lastInput);
    this.show('offline', status === 'offline');
    this.doc.body.dataset.link = status;
    // A WebSocket refused for an expired token looks like any drop; ask once over REST.
    if (status === 'offline' && this.live) {
      this.api.me().catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) this.signOut();
      });
    }
  }

  private setLanguage(value: string): void {
    const language = languages.find((l) => l === value);
    if (!language) return;
    localStorage.setItem(languageKey, language);
    this.tr.language = language;
    this.translatePage();
    const select = this.input<HTMLSelectElement>('me-state');
    for (const option of select.options) {
      option.textContent = this.stateName(option.value, option.dataset.builtIn === 'true', option.dataset.message);
    }
    if (this.me?.role === 'admin') this.console.redraw();
    if (this.me) this.showGroups();
    this.remote.render();
    for (const user of this.rows.keys()) this.dirty.add(user);
    if (this.me?.id) {
      this.dirty.add(this.me.id);
      this.el('whoami').textContent = this.tr.t('me.signedInAs', { name: this.names.get(this.me.id) ?? this.me.id });
    }
    this.flush();
  }

  private translatePage(): void {
    const language: Language = this.tr.language;
    this.doc.documentElement.lang = language;
    this.doc.title = this.tr.t('app.title');
    for (const node of this.doc.querySelectorAll<HTMLElement>('[data-i18n]')) {
      node.textContent = this.tr.t(node.dataset.i18n as MessageKey);
    }
    this.input<HTMLSelectElement>('language').value = language;
    const dark = effectiveTheme(this.doc) === 'dark';
    this.el('theme').setAttribute('aria-pressed', String(dark));
  }

  private errorText(error: unknown): string {
    if (error instanceof ApiError) return error.status === 0 ? this.tr.t('error.network') : error.message;
    return String(error);
  }

  // The console replaces the client's sections; the WebSocket session stays open meanwhile.
  private showConsole(open: boolean): void {
    if (open && this.me?.role !== 'admin') return;
    this.consoleOpen = open;
    const toggle = this.el('console-toggle');
    toggle.setAttribute('aria-pressed', String(open));
    toggle.dataset.i18n = open ? 'console.close' : 'console.open';
    toggle.textContent = this.tr.t(open ? 'console.close' : 'console.open');
    if (this.me) for (const section of ['me', 'contacts', 'directory']) this.show(section, !open);
    if (open) {
      void this.console.open();
    } else {
      this.console.close();
    }
  }

  private showLogin(): void {
    this.showConsole(false);
    for (const section of ['me', 'contacts', 'directory', 'console-toggle', 'logout', 'offline']) this.show(section, false);
    this.show('login', true);
    this.el('whoami').textContent = '';
    this.input<HTMLInputElement>('login-user').focus();
  }

  private show(id: string, visible: boolean): void {
    this.el(id).hidden = !visible;
  }

  private el(id: string): HTMLElement {
    const node = this.doc.getElementById(id);
    if (!node) throw new Error(`missing #${id}`);
    return node;
  }

  private input<T extends HTMLElement>(id: string): T {
    return this.el(id) as T;
  }

  private on(id: string, type: string, handler: (event: Event) => void): void {
    this.el(id).addEventListener(type, handler);
  }
}
