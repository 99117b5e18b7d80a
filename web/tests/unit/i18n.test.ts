import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { languages, messages, pickLanguage, Translator } from '../../src/i18n';

const root = join(__dirname, '../..');

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

describe('translations', () => {
  it('has every key in every language, non-empty, with the same placeholders', () => {
    const keys = Object.keys(messages.en).sort();
    for (const language of languages) {
      expect(Object.keys(messages[language]).sort()).toEqual(keys);
      for (const key of keys) {
        const text = messages[language][key as keyof typeof messages.en];
        expect(text.trim(), `${language}.${key}`).not.toBe('');
        expect(placeholders(text), `${language}.${key}`).toEqual(placeholders(messages.en[key as keyof typeof messages.en]));
      }
    }
  });

  it('covers every availability, flag and built-in state the API names', () => {
    const openapi = JSON.parse(readFileSync(join(root, '../src/api/openapi.json'), 'utf8'));
    const schema = openapi.components.schemas.Presence.properties;
    for (const availability of schema.availability.enum as string[]) {
      expect(Object.hasOwn(messages.de, `availability.${availability}`), `availability.${availability}`).toBe(true);
    }
    for (const flag of schema.flags.items.enum as string[]) {
      expect(Object.hasOwn(messages.de, `flag.${flag}`), `flag.${flag}`).toBe(true);
    }
    const manual = openapi.components.schemas.Manual.properties.state.description as string;
    for (const state of ['Available', 'Busy', 'DoNotDisturb', 'Away', 'BeRightBack', 'Offline']) {
      expect(manual).toContain(state);
      expect(Object.hasOwn(messages.de, `state.${state}`), `state.${state}`).toBe(true);
    }
  });

  it('has a key for every data-i18n attribute and t() call in the sources', () => {
    const used = new Set<string>();
    const html = readFileSync(join(root, 'index.html'), 'utf8');
    for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) used.add(m[1]);
    for (const file of readdirSync(join(root, 'src'), { recursive: true }) as string[]) {
      if (!file.endsWith('.ts') || file === 'api-types.ts') continue;
      const source = readFileSync(join(root, 'src', file), 'utf8');
      // t() calls, and the console's field labels and hints (kit.ts translates them).
      for (const m of source.matchAll(/(?:\.t\(|\b(?:label|hint): )'([^']+)'/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(120);
    for (const key of used) expect(Object.hasOwn(messages.en, key), key).toBe(true);
  });

  it('fills placeholders and falls back for unknown server values', () => {
    const tr = new Translator('de');
    expect(tr.t('me.why', { reason: 'angemeldet' })).toBe('Warum: angemeldet');
    expect(tr.tOr('availability.Busy', 'x')).toBe('Beschäftigt');
    expect(tr.tOr('availability.Unheard', 'Unheard')).toBe('Unheard');
  });

  it('picks the first supported language from the browser list', () => {
    expect(pickLanguage(['fr-FR', 'de-AT', 'en'])).toBe('de');
    expect(pickLanguage(['fr'])).toBe('en');
  });
});
