// One person's row: icon, name, state in words, and the note and end time when visible.
import type { Presence } from './api';
import type { Translator } from './i18n';
import { channelIcon, channelOf, iconOf, presenceIcon, type ChannelPresence } from './icons';

export function stateText(tr: Translator, presence: Presence | undefined): string {
  const availability = presence?.availability ?? 'PresenceUnknown';
  return tr.tOr(`availability.${availability}`, availability);
}

export function formatTime(tr: Translator, iso: string): string {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return new Intl.DateTimeFormat(tr.language, { dateStyle: 'short', timeStyle: 'short' }).format(when);
}

export function renderPerson(
  row: HTMLElement,
  tr: Translator,
  name: string,
  presence: Presence | undefined,
): void {
  const kind = iconOf(presence);
  const state = stateText(tr, presence);
  row.className = `person person--${kind}`;
  row.dataset.availability = presence?.availability ?? 'PresenceUnknown';
  row.dataset.icon = kind;
  const details: string[] = [];
  const nameLine = document.createElement('span');
  nameLine.className = 'person__name';
  nameLine.textContent = name;
  const stateLine = document.createElement('span');
  stateLine.className = 'person__state';
  stateLine.textContent = state;
  const flags = (presence?.flags ?? []).filter((f) => f !== 'note' && f !== 'offline');
  if (flags.length > 0) {
    stateLine.textContent += ` (${flags.map((f) => tr.tOr(`flag.${f}`, f)).join(', ')})`;
  }
  const outOfOffice = flags.includes('out_of_office');
  row.dataset.outOfOffice = String(outOfOffice);
  const iconLabel = outOfOffice ? `${state}, ${tr.t('flag.out_of_office')}` : state;
  const children: Node[] = [presenceIcon(kind, iconLabel, outOfOffice), nameLine, stateLine];
  // Seed 001: the external channel's own small icon, beside the name and apart from ours.
  const channel = channelOf(presence);
  if (channel) {
    const label = channelText(tr, channel);
    details.push(label);
    nameLine.append(channelIcon(channel, label));
  }
  const subject = appointmentSubject(presence);
  if (subject) {
    const appointment = document.createElement('span');
    appointment.className = 'person__appointment';
    appointment.textContent = tr.t('contact.appointment', { subject });
    details.push(appointment.textContent);
    children.push(appointment);
  }
  if (presence?.note) {
    const note = document.createElement('span');
    note.className = 'person__note';
    note.textContent = tr.t('contact.note', { note: presence.note });
    details.push(note.textContent);
    children.push(note);
  }
  if (presence?.until) {
    const until = document.createElement('span');
    until.className = 'person__until';
    until.textContent = tr.t('contact.until', { time: formatTime(tr, presence.until) });
    details.push(until.textContent);
    children.push(until);
  }
  row.replaceChildren(...children);
  row.title = [tr.t('contact.label', { name, state: stateLine.textContent }), ...details].join('\n');
}

// The appointment is an untyped object in the OpenAPI document; only a text subject is shown.
function appointmentSubject(presence: Presence | undefined): string {
  const subject = (presence?.appointment as { subject?: unknown } | undefined)?.subject;
  return typeof subject === 'string' ? subject : '';
}

// "Teams: Busy, In a call"; the activity only when it says more than the availability.
export function channelText(tr: Translator, channel: ChannelPresence): string {
  let state = tr.tOr(`availability.${channel.availability}`, channel.availability);
  if (channel.activity && channel.activity !== channel.availability) {
    state += `, ${tr.tOr(`activity.${channel.activity}`, channel.activity)}`;
  }
  return tr.t(`channel.${channel.channel}`, { state });
}
