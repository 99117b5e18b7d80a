// Contacts on federated servers (docs/sip.md, docs/xmpp.md): the user adds and removes sip: and
// xmpp: addresses; the contact list shows them live like local users, Unknown until the other
// server answers.
import { ApiError, type Api } from './api';
import type { Translator } from './i18n';

// What the server accepts, roughly: scheme:user@domain. The server's own check still decides.
const addressPattern = /^(sip|xmpp):[^\s@/]+@[^\s@/]+$/i;

export function isRemoteAddress(text: string): boolean {
  return addressPattern.test(text);
}

export class RemoteContacts {
  private addresses: string[] = [];

  constructor(
    private readonly doc: Document,
    private readonly tr: Translator,
    private readonly api: () => Api,
    private readonly user: () => string,
    // The contact list changed on the server: read it again.
    private readonly contactsChanged: () => Promise<void>,
  ) {
    this.el('remote-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.add();
    });
  }

  async load(): Promise<void> {
    this.addresses = await this.api().remoteContacts(this.user());
    this.render();
  }

  clear(): void {
    this.addresses = [];
    this.render();
    this.report('', false);
  }

  // The list with a remove button each; the live rows are in the contact list above.
  render(): void {
    this.el('remote-list').replaceChildren(
      ...this.addresses.map((address) => {
        const li = this.doc.createElement('li');
        li.dataset.address = address;
        const text = this.doc.createElement('span');
        text.textContent = address;
        const remove = this.doc.createElement('button');
        remove.type = 'button';
        remove.textContent = this.tr.t('remote.remove');
        remove.setAttribute('aria-label', this.tr.t('remote.removeLabel', { address }));
        remove.addEventListener('click', () => void this.remove(address));
        li.append(text, remove);
        return li;
      }),
    );
  }

  private async add(): Promise<void> {
    const input = this.el('remote-address') as HTMLInputElement;
    const error = this.el('remote-address-error');
    const address = input.value.trim();
    if (!isRemoteAddress(address)) {
      input.setAttribute('aria-invalid', 'true');
      error.textContent = address ? this.tr.t('remote.invalid', { value: address }) : this.tr.t('validate.required');
      this.report('', false);
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    error.textContent = '';
    await this.change(async () => {
      await this.api().addRemoteContact(this.user(), address);
      input.value = '';
      return this.tr.t('remote.added', { address });
    });
  }

  private async remove(address: string): Promise<void> {
    await this.change(async () => {
      await this.api().removeRemoteContact(this.user(), address);
      return this.tr.t('remote.removed', { address });
    });
  }

  private async change(request: () => Promise<string>): Promise<void> {
    try {
      const done = await request();
      await Promise.all([this.load(), this.contactsChanged()]);
      this.report(done, false);
    } catch (error) {
      const message = error instanceof ApiError && error.status === 0 ? this.tr.t('error.network') : error instanceof Error ? error.message : String(error);
      this.report(this.tr.t('admin.error', { message }), true);
    }
  }

  private report(text: string, error: boolean): void {
    const line = this.el('remote-message');
    line.textContent = text;
    line.classList.toggle('message--error', error);
  }

  private el(id: string): HTMLElement {
    const node = this.doc.getElementById(id);
    if (!node) throw new Error(`missing #${id}`);
    return node;
  }
}
