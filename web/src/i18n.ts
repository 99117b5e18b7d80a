// Every string the client shows comes from this table, so both languages stay complete.

export const languages = ['en', 'de'] as const;
export type Language = (typeof languages)[number];

const en = {
  'app.title': 'Presence',
  'login.heading': 'Sign in',
  'login.username': 'User name',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.failed': 'Sign-in failed: {message}',
  'logout': 'Sign out',
  'theme.dark': 'Dark theme',
  'language.label': 'Language',
  'language.en': 'English',
  'language.de': 'Deutsch',
  'me.signedInAs': 'Signed in as {name}',
  'search.results': '{count} found',
  'offline.banner': 'Offline: reconnecting… Presence shown may be out of date.',
  'me.heading': 'My presence',
  'me.state': 'State',
  'me.note': 'Note',
  'me.until': 'Until',
  'me.set': 'Set',
  'me.clear': 'Back to automatic',
  'me.why': 'Why: {reason}',
  'me.saved': 'Presence updated.',
  'me.error': 'Could not change presence: {message}',
  'profile.label': 'Profile',
  'profile.select': 'Use profile',
  'profile.end': 'End profile',
  'profile.current': 'Profile in use: {name}',
  'profile.currentUntil': 'Profile in use: {name}, until {time}',
  'contacts.heading': 'Contacts',
  'contacts.empty': 'No contacts yet.',
  'search.heading': 'Directory',
  'search.label': 'Search people',
  'search.none': 'Nobody found.',
  'contact.label': '{name}: {state}',
  'contact.note': 'Note: {note}',
  'contact.until': 'until {time}',
  'contact.appointment': 'Appointment: {subject}',
  'availability.Available': 'Available',
  'availability.AvailableIdle': 'Inactive',
  'availability.Away': 'Away',
  'availability.BeRightBack': 'Be right back',
  'availability.Busy': 'Busy',
  'availability.BusyIdle': 'Busy, inactive',
  'availability.DoNotDisturb': 'Do not disturb',
  'availability.Offline': 'Offline',
  'availability.PresenceUnknown': 'Unknown',
  'state.Available': 'Available',
  'state.Busy': 'Busy',
  'state.DoNotDisturb': 'Do not disturb',
  'state.Away': 'Away',
  'state.BeRightBack': 'Be right back',
  'state.Offline': 'Appear offline',
  'flag.ringing': 'ringing',
  'flag.call': 'on a call',
  'flag.conferencing': 'in a conference',
  'flag.appointment': 'in an appointment',
  'flag.idle': 'inactive',
  'flag.offline': 'offline',
  'flag.note': 'has a note',
  'flag.after_call_work': 'after-call work',
  'flag.out_of_office': 'out of office',
  'rule.appear_offline': 'appearing offline by choice',
  'rule.dnd_not_overridden': 'do not disturb, chosen by hand',
  'rule.call_protection': 'call protection during a call',
  'rule.manual': 'chosen by hand',
  'rule.system_overrides_manual': 'a call or meeting began after the state was chosen',
  'rule.call': 'on a call',
  'rule.appointment': 'in an appointment',
  'rule.out_of_office': 'out of office',
  'rule.logged_in': 'signed in',
  'rule.no_session': 'not signed in anywhere',
  'rule.idle': 'inactive for a while',
  'rule.other': 'rule {rule}',
  'error.network': 'The server cannot be reached.',
} as const;

export type MessageKey = keyof typeof en;

const de: Record<MessageKey, string> = {
  'app.title': 'Präsenz',
  'login.heading': 'Anmelden',
  'login.username': 'Benutzername',
  'login.password': 'Passwort',
  'login.submit': 'Anmelden',
  'login.failed': 'Anmeldung fehlgeschlagen: {message}',
  'logout': 'Abmelden',
  'theme.dark': 'Dunkles Farbschema',
  'language.label': 'Sprache',
  'language.en': 'English',
  'language.de': 'Deutsch',
  'me.signedInAs': 'Angemeldet als {name}',
  'search.results': '{count} gefunden',
  'offline.banner': 'Offline: Verbindung wird wiederhergestellt … Angezeigte Präsenzen sind evtl. veraltet.',
  'me.heading': 'Meine Präsenz',
  'me.state': 'Status',
  'me.note': 'Notiz',
  'me.until': 'Bis',
  'me.set': 'Setzen',
  'me.clear': 'Zurück zu automatisch',
  'me.why': 'Warum: {reason}',
  'me.saved': 'Präsenz geändert.',
  'me.error': 'Präsenz konnte nicht geändert werden: {message}',
  'profile.label': 'Profil',
  'profile.select': 'Profil verwenden',
  'profile.end': 'Profil beenden',
  'profile.current': 'Aktives Profil: {name}',
  'profile.currentUntil': 'Aktives Profil: {name}, bis {time}',
  'contacts.heading': 'Kontakte',
  'contacts.empty': 'Noch keine Kontakte.',
  'search.heading': 'Verzeichnis',
  'search.label': 'Personen suchen',
  'search.none': 'Niemand gefunden.',
  'contact.label': '{name}: {state}',
  'contact.note': 'Notiz: {note}',
  'contact.until': 'bis {time}',
  'contact.appointment': 'Termin: {subject}',
  'availability.Available': 'Verfügbar',
  'availability.AvailableIdle': 'Inaktiv',
  'availability.Away': 'Abwesend',
  'availability.BeRightBack': 'Bin gleich zurück',
  'availability.Busy': 'Beschäftigt',
  'availability.BusyIdle': 'Beschäftigt, inaktiv',
  'availability.DoNotDisturb': 'Nicht stören',
  'availability.Offline': 'Offline',
  'availability.PresenceUnknown': 'Unbekannt',
  'state.Available': 'Verfügbar',
  'state.Busy': 'Beschäftigt',
  'state.DoNotDisturb': 'Nicht stören',
  'state.Away': 'Abwesend',
  'state.BeRightBack': 'Bin gleich zurück',
  'state.Offline': 'Als offline anzeigen',
  'flag.ringing': 'es klingelt',
  'flag.call': 'im Gespräch',
  'flag.conferencing': 'in einer Konferenz',
  'flag.appointment': 'in einem Termin',
  'flag.idle': 'inaktiv',
  'flag.offline': 'offline',
  'flag.note': 'hat eine Notiz',
  'flag.after_call_work': 'Nachbearbeitung',
  'flag.out_of_office': 'außer Haus',
  'rule.appear_offline': 'auf eigenen Wunsch als offline angezeigt',
  'rule.dnd_not_overridden': 'Nicht stören, von Hand gewählt',
  'rule.call_protection': 'Anrufschutz während eines Gesprächs',
  'rule.manual': 'von Hand gewählt',
  'rule.system_overrides_manual': 'ein Gespräch oder Termin begann nach der Wahl des Status',
  'rule.call': 'im Gespräch',
  'rule.appointment': 'in einem Termin',
  'rule.out_of_office': 'außer Haus',
  'rule.logged_in': 'angemeldet',
  'rule.no_session': 'nirgends angemeldet',
  'rule.idle': 'seit einer Weile inaktiv',
  'rule.other': 'Regel {rule}',
  'error.network': 'Der Server ist nicht erreichbar.',
};

export const messages: Record<Language, Record<MessageKey, string>> = { en, de };

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

export function pickLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    const found = languages.find((l) => l === base);
    if (found) return found;
  }
  return 'en';
}

export class Translator {
  constructor(public language: Language) {}

  t(key: MessageKey, params: Record<string, string> = {}): string {
    const template = messages[this.language][key];
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
  }

  // For keys built from server values (availability, flags, rules): unknown values stay readable.
  tOr(key: string, fallback: string, params: Record<string, string> = {}): string {
    return isMessageKey(key) ? this.t(key, params) : fallback;
  }
}
