// Building blocks of the console: a form whose fields validate before anything is sent and whose
// message line shows the server's refusal as it is, and a table of rows with action buttons.
// Labels carry data-i18n, so a language switch retranslates them with the rest of the page.
import { ApiError } from '../api';
import type { MessageKey, Translator } from '../i18n';
import { parseField, type FieldRule, type FieldValue } from './validate';

export interface Option {
  value: string;
  label: string;
}

export interface FieldSpec extends FieldRule {
  name: string;
  label: MessageKey;
  // select and checks: the choices, read each time the form is drawn or refilled.
  options?: () => Option[];
  hint?: MessageKey;
}

export type Values = Record<string, FieldValue>;

export class Form {
  readonly element: HTMLFormElement;
  private readonly result: HTMLElement;
  private readonly inputs = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLFieldSetElement>();

  constructor(
    private readonly doc: Document,
    private readonly tr: Translator,
    readonly id: string,
    private readonly fields: FieldSpec[],
    submit: MessageKey,
    private readonly send: (values: Values) => Promise<string>,
  ) {
    this.element = doc.createElement('form');
    this.element.id = id;
    this.element.className = 'form form--inline';
    this.element.noValidate = true;
    for (const field of fields) this.addField(field);
    const actions = doc.createElement('div');
    actions.className = 'form__actions';
    const button = doc.createElement('button');
    button.type = 'submit';
    button.dataset.i18n = submit;
    button.textContent = tr.t(submit);
    actions.append(button);
    this.result = doc.createElement('p');
    this.result.id = `${id}-result`;
    this.result.className = 'message';
    this.result.setAttribute('role', 'status');
    this.result.setAttribute('aria-live', 'polite');
    this.element.append(actions);
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  // The form and its message line, to be placed together.
  get nodes(): HTMLElement[] {
    return [this.element, this.result];
  }

  // Sets fields (absent names are cleared) and redraws select and checkbox choices.
  fill(values: Values): void {
    for (const field of this.fields) {
      const input = this.inputs.get(field.name);
      const value = values[field.name];
      if (input instanceof HTMLFieldSetElement) {
        this.fillChecks(input, field, Array.isArray(value) ? value : []);
      } else if (input instanceof HTMLSelectElement) {
        this.fillOptions(input, field);
        input.value = value === undefined ? (input.options[0]?.value ?? '') : String(value);
      } else if (input && field.kind === 'check') {
        input.checked = Boolean(value);
      } else if (input) {
        input.value = value === undefined ? '' : Array.isArray(value) ? value.join(', ') : String(value);
      }
    }
  }

  // Redraws the choices, keeping what is selected.
  refreshOptions(): void {
    for (const field of this.fields) {
      const input = this.inputs.get(field.name);
      if (input instanceof HTMLSelectElement) {
        const value = input.value;
        this.fillOptions(input, field);
        if ([...input.options].some((o) => o.value === value)) input.value = value;
      } else if (input instanceof HTMLFieldSetElement) {
        this.fillChecks(input, field, this.checked(input));
      }
    }
  }

  // Runs an action outside the form's own submit (a row's delete button) and reports on this
  // form's message line: its confirmation, or the server's refusal as it is.
  async report(action: () => Promise<unknown>, done: () => string): Promise<void> {
    try {
      await action();
      this.show(done(), false);
    } catch (error) {
      this.show(this.tr.t('admin.error', { message: errorText(this.tr, error) }), true);
    }
  }

  show(text: string, error: boolean): void {
    this.result.textContent = text;
    this.result.classList.toggle('message--error', error);
  }

  private async submit(): Promise<void> {
    const values: Values = {};
    let first: HTMLElement | null = null;
    for (const field of this.fields) {
      const input = this.inputs.get(field.name);
      if (!input) continue;
      const raw =
        input instanceof HTMLFieldSetElement ? this.checked(input) : field.kind === 'check' ? (input as HTMLInputElement).checked : input.value;
      const parsed = parseField(field, raw);
      const error = this.doc.getElementById(`${input.id}-error`);
      if ('problem' in parsed) {
        input.setAttribute('aria-invalid', 'true');
        if (error) error.textContent = this.tr.t(parsed.problem.key, parsed.problem.params);
        first ??= input;
      } else {
        input.removeAttribute('aria-invalid');
        if (error) error.textContent = '';
        values[field.name] = parsed.value;
      }
    }
    if (first) {
      this.show(this.tr.t('validate.fix'), true);
      first.focus();
      return;
    }
    let done = '';
    await this.report(async () => (done = await this.send(values)), () => done);
  }

  private addField(field: FieldSpec): void {
    const inputId = `${this.id}-${field.name}`;
    let input: HTMLInputElement | HTMLSelectElement | HTMLFieldSetElement;
    if (field.kind === 'checks') {
      input = this.doc.createElement('fieldset');
      input.className = 'checks';
      const legend = this.doc.createElement('legend');
      legend.dataset.i18n = field.label;
      legend.textContent = this.tr.t(field.label);
      input.append(legend);
      this.fillChecks(input, field, []);
    } else {
      const label = this.doc.createElement('label');
      label.htmlFor = inputId;
      label.dataset.i18n = field.label;
      label.textContent = this.tr.t(field.label);
      this.element.append(label);
      if (field.kind === 'select') {
        input = this.doc.createElement('select');
        this.fillOptions(input, field);
      } else {
        input = this.doc.createElement('input');
        input.type = { password: 'password', number: 'number', check: 'checkbox' }[field.kind as string] ?? 'text';
        if (field.kind === 'password') input.autocomplete = 'new-password';
        if (field.kind === 'number') {
          if (field.min !== undefined) input.min = String(field.min);
          if (field.max !== undefined) input.max = String(field.max);
        }
        if (field.maxLength !== undefined) input.maxLength = field.maxLength;
      }
      if (field.required) input.setAttribute('aria-required', 'true');
    }
    input.id = inputId;
    // The field, its hint and its error share the second grid column, beside the label.
    const cell = this.doc.createElement('div');
    cell.className = field.kind === 'checks' ? 'field field--wide' : 'field';
    const error = this.doc.createElement('span');
    error.id = `${inputId}-error`;
    error.className = 'field-error';
    const described = [error.id];
    cell.append(input);
    if (field.hint) {
      const hint = this.doc.createElement('span');
      hint.id = `${inputId}-hint`;
      hint.className = 'hint';
      hint.dataset.i18n = field.hint;
      hint.textContent = this.tr.t(field.hint);
      described.push(hint.id);
      cell.append(hint);
    }
    input.setAttribute('aria-describedby', described.join(' '));
    cell.append(error);
    this.element.append(cell);
    this.inputs.set(field.name, input);
  }

  private fillOptions(select: HTMLSelectElement, field: FieldSpec): void {
    select.replaceChildren(
      ...(field.options?.() ?? []).map((o) => {
        const option = this.doc.createElement('option');
        option.value = o.value;
        option.textContent = o.label;
        return option;
      }),
    );
  }

  private fillChecks(set: HTMLFieldSetElement, field: FieldSpec, checked: string[]): void {
    const legend = set.querySelector('legend');
    const boxes = (field.options?.() ?? []).map((o) => {
      const label = this.doc.createElement('label');
      const box = this.doc.createElement('input');
      box.type = 'checkbox';
      box.value = o.value;
      box.checked = checked.includes(o.value);
      label.append(box, ` ${o.label}`);
      return label;
    });
    set.replaceChildren(...(legend ? [legend] : []), ...boxes);
  }

  private checked(set: HTMLFieldSetElement): string[] {
    return [...set.querySelectorAll<HTMLInputElement>('input[type=checkbox]')].filter((b) => b.checked).map((b) => b.value);
  }
}

export interface RowAction {
  label: MessageKey;
  // The button's accessible name names the row: "Delete user bob".
  name: string;
  run: () => void;
}

export class Table {
  // The table in a box that scrolls sideways on narrow screens.
  readonly element: HTMLElement;
  private readonly body: HTMLTableSectionElement;

  constructor(
    private readonly doc: Document,
    private readonly tr: Translator,
    id: string,
    columns: MessageKey[],
  ) {
    const table = doc.createElement('table');
    table.className = 'table';
    const head = doc.createElement('thead');
    const row = doc.createElement('tr');
    for (const column of [...columns, 'admin.actions' as MessageKey]) {
      const th = doc.createElement('th');
      th.scope = 'col';
      th.dataset.i18n = column;
      th.textContent = this.tr.t(column);
      row.append(th);
    }
    head.append(row);
    this.body = doc.createElement('tbody');
    this.body.id = id;
    table.append(head, this.body);
    this.element = doc.createElement('div');
    this.element.className = 'table-scroll';
    this.element.append(table);
  }

  render(rows: { key: string; cells: string[]; actions: RowAction[] }[]): void {
    this.body.replaceChildren(
      ...rows.map((row) => {
        const tr = this.doc.createElement('tr');
        tr.dataset.key = row.key;
        for (const text of row.cells) {
          const td = this.doc.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        const actions = this.doc.createElement('td');
        for (const action of row.actions) {
          const button = this.doc.createElement('button');
          button.type = 'button';
          button.textContent = this.tr.t(action.label);
          button.setAttribute('aria-label', action.name);
          button.dataset.action = action.label;
          button.addEventListener('click', action.run);
          actions.append(button);
        }
        tr.append(actions);
        return tr;
      }),
    );
  }
}

export function errorText(tr: Translator, error: unknown): string {
  if (error instanceof ApiError) return error.status === 0 ? tr.t('error.network') : error.message;
  return String(error);
}

// A panel of the console: heading, then whatever the caller adds.
export function panel(doc: Document, tr: Translator, id: string, heading: MessageKey): HTMLElement {
  const section = doc.createElement('section');
  section.id = id;
  section.className = 'panel';
  section.setAttribute('aria-labelledby', `${id}-heading`);
  const h2 = doc.createElement('h2');
  h2.id = `${id}-heading`;
  h2.dataset.i18n = heading;
  h2.textContent = tr.t(heading);
  section.append(h2);
  return section;
}

// Optional body fields: only those given, so PATCH leaves the rest alone.
export function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function subheading(doc: Document, tr: Translator, key: MessageKey): HTMLElement {
  const h3 = doc.createElement('h3');
  h3.dataset.i18n = key;
  h3.textContent = tr.t(key);
  return h3;
}
