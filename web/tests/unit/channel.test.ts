import { describe, expect, it } from 'vitest';
import type { Presence } from '../../src/api';
import { Translator } from '../../src/i18n';
import { channelOf, iconOfAvailability } from '../../src/icons';
import { channelText } from '../../src/person';

function presence(extra: Partial<Presence>): Presence {
  return { user: 'erin', availability: 'Available', activity: 'Available', flags: [], sequence: 1, ...extra };
}

describe('external channel (seed 001)', () => {
  it('is absent without a Teams presence', () => {
    expect(channelOf(undefined)).toBeNull();
    expect(channelOf(presence({}))).toBeNull();
    expect(channelOf(presence({ external: {} }))).toBeNull();
  });

  it('reads the Teams availability and activity', () => {
    const channel = channelOf(presence({ external: { teams: { availability: 'Busy', activity: 'InACall' } } }));
    expect(channel).toEqual({ channel: 'teams', availability: 'Busy', activity: 'InACall' });
    expect(iconOfAvailability(channel?.availability)).toBe('busy');
  });

  it('says the state in words, the activity only when it adds something', () => {
    const en = new Translator('en');
    expect(channelText(en, { channel: 'teams', availability: 'Busy', activity: 'InACall' })).toBe('Teams: Busy, In a call');
    expect(channelText(en, { channel: 'teams', availability: 'Available', activity: 'Available' })).toBe('Teams: Available');
    const de = new Translator('de');
    expect(channelText(de, { channel: 'teams', availability: 'DoNotDisturb', activity: 'Presenting' })).toBe(
      `Teams: ${de.t('availability.DoNotDisturb')}, ${de.t('activity.Presenting')}`,
    );
    expect(channelText(en, { channel: 'teams', availability: 'Unheard', activity: '' })).toBe('Teams: Unheard');
  });
});
