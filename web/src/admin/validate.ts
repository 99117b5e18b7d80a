// Client-side checks of the console's fields, the same limits the server applies (its messages
// still win: what passes here may be refused there, and that message is shown as it is).
import type { MessageKey } from '../i18n';

export type FieldKind = 'id' | 'text' | 'password' | 'number' | 'select' | 'ids' | 'check' | 'checks';

export interface FieldRule {
  kind: FieldKind;
  required?: boolean;
  min?: number;
  max?: number;
  maxLength?: number;
}

export interface Problem {
  key: MessageKey;
  params?: Record<string, string>;
}

// The server's id grammar: A-Z a-z 0-9 . _ @ + -, 1 to 128 bytes.
const idPattern = /^[A-Za-z0-9._@+-]{1,128}$/;

export type FieldValue = string | number | boolean | string[] | undefined;

// Turns the raw text of a field into its value, or says what is wrong with it.
export function parseField(rule: FieldRule, raw: string | boolean | string[]): { value: FieldValue } | { problem: Problem } {
  if (rule.kind === 'check') return { value: Boolean(raw) };
  if (rule.kind === 'checks') return { value: raw as string[] };
  const text = String(raw).trim();
  if (text === '') {
    return rule.required ? { problem: { key: 'validate.required' } } : { value: undefined };
  }
  switch (rule.kind) {
    case 'id':
      return idPattern.test(text) ? { value: text } : { problem: { key: 'validate.id', params: { value: text } } };
    case 'ids': {
      const ids = [...new Set(text.split(/[\s,]+/).filter((id) => id))];
      const bad = ids.find((id) => !idPattern.test(id));
      return bad === undefined ? { value: ids } : { problem: { key: 'validate.id', params: { value: bad } } };
    }
    case 'number': {
      const n = Number(text);
      const min = rule.min ?? Number.MIN_SAFE_INTEGER;
      const max = rule.max ?? Number.MAX_SAFE_INTEGER;
      if (!/^-?\d+$/.test(text) || n < min || n > max) {
        return { problem: { key: 'validate.range', params: { value: text, min: String(min), max: String(max) } } };
      }
      return { value: n };
    }
    default: {
      const bytes = new TextEncoder().encode(text).length;
      if (rule.maxLength !== undefined && bytes > rule.maxLength) {
        return { problem: { key: 'validate.length', params: { bytes: String(bytes), max: String(rule.maxLength) } } };
      }
      // Passwords keep their spaces: they are the user's.
      return { value: rule.kind === 'password' ? String(raw) : text };
    }
  }
}
