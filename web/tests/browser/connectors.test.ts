// The client and console with the connectors: a presenced whose Teams connector talks to the
// Graph emulator and which federates over SIP with a peer that never answers.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphEmulator, tenant } from './graph';
import { adminPassword, contact, freshDir, launchChromium, Presenced, signIn, submit, type SignedIn } from './harness';

let browser: Browser;
let server: Presenced;
let graph: GraphEmulator;
let data: ReturnType<typeof freshDir>;
let admin: string;

// A UDP port nobody listens on, for the SIP peer that never answers.
function unusedUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

// A TCP port nobody listens on, for the calendar server that is not there.
function unusedTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const listener = createServer();
    listener.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      listener.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  data = freshDir('presenced-web-connectors-');
  graph = new GraphEmulator();
  await graph.start();
  const peerPort = await unusedUdpPort();
  server = new Presenced(data.path, [
    '--teams-config',
    graph.writeConfig(data.path),
    '--sip',
    '127.0.0.1:0',
    '--sip-peer',
    `remote.test=127.0.0.1:${peerPort}`,
  ]);
  await server.start();
  admin = await server.token('admin', adminPassword);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  expect(await server?.stop()).toBe(0);
  graph?.stop();
  data?.remove();
});

function teamsIcon(user: string): string {
  return `${contact(user)} svg[data-channel=teams]`;
}

async function teamsLabel(page: Page, user: string, label: string): Promise<void> {
  await page.waitForSelector(`${teamsIcon(user)}[aria-label="${label}"]`, { timeout: 15_000 });
}

describe('external channel (seed 001)', () => {
  it("shows a contact's Teams presence as its own small icon, live, and nothing without one", async () => {
    const bob = await signIn(browser, server, 'bob');
    await bob.page.waitForSelector(contact('erin'));
    expect(await bob.page.locator(teamsIcon('erin')).count()).toBe(0);

    const id = await graph.addUser('erin@contoso.com');
    await graph.teamsClient(id, 'Busy', 'InACall');
    await server.call('PUT', '/api/v1/users/erin/teams', admin, { upn: 'erin@contoso.com', tenant });
    await teamsLabel(bob.page, 'erin', 'Teams: Busy, In a call');
    const icon = bob.page.locator(teamsIcon('erin'));
    expect(await icon.getAttribute('role')).toBe('img');
    expect(await icon.getAttribute('data-icon')).toBe('busy');
    expect(await icon.locator('title').textContent()).toBe('Teams: Busy, In a call');
    expect(await bob.page.locator(contact('erin')).getAttribute('title')).toContain('Teams: Busy, In a call');
    // Its own shape: a rounded square, never the disc of the user's own icon.
    expect(await icon.locator('rect').count()).toBe(1);
    // A contact without Teams has none.
    expect(await bob.page.locator(teamsIcon('carol')).count()).toBe(0);

    await graph.teamsClient(id, 'DoNotDisturb', 'Presenting');
    await teamsLabel(bob.page, 'erin', 'Teams: Do not disturb, Presenting');
    expect(await icon.getAttribute('data-icon')).toBe('do_not_disturb');

    // German, after a language switch.
    await bob.page.selectOption('#language', 'de');
    await teamsLabel(bob.page, 'erin', 'Teams: Nicht stören, Präsentiert');

    await server.call('DELETE', '/api/v1/users/erin/teams', admin);
    await bob.page.waitForSelector(teamsIcon('erin'), { state: 'detached', timeout: 10_000 });
    expect(bob.problems).toEqual([]);
    await bob.context.close();
  });
});

describe('remote contacts', () => {
  it('adds a sip: contact, shows it grey like an unknown local one, refuses bad ones and removes it', async () => {
    const bob = await signIn(browser, server, 'bob');
    const { page } = bob;
    const address = 'sip:zoe@remote.test';

    // Caught on the page: no scheme.
    await page.fill('#remote-address', 'zoe@remote.test');
    await page.click('#remote-add');
    expect(await page.getAttribute('#remote-address', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#remote-address-error')).toContain('zoe@remote.test');
    // Refused by the server, its message shown: no XMPP federation here.
    await page.fill('#remote-address', 'xmpp:zoe@remote.test');
    await page.click('#remote-add');
    await page.waitForSelector('#remote-message.message--error', { timeout: 10_000 });
    expect(await page.textContent('#remote-message')).toContain('The server refused it: address: no federation over xmpp');

    await page.fill('#remote-address', address);
    await page.click('#remote-add');
    // Grey: Unknown until the peer answers, then Offline (grey too) once the subscription fails,
    // since nobody listens on the peer's port (docs/sip.md, rule remote_unknown).
    const row = contact(address);
    await page.waitForSelector(`${row}[data-icon=unknown]`, { timeout: 10_000 });
    expect(await page.textContent(`${row} .person__name`)).toBe(address);
    expect(['Unknown', 'Offline']).toContain(await page.textContent(`${row} .person__state`));
    expect(['Unknown', 'Offline']).toContain(await page.getAttribute(`${row} svg.icon`, 'aria-label'));
    expect(await page.textContent('#remote-message')).toContain(`${address} added`);
    expect(await server.call('GET', '/api/v1/users/bob/remote-contacts', admin)).toEqual({ addresses: [address] });

    // Kept across a reload (signed in again from the stored token).
    await page.reload();
    await page.waitForSelector(`${row}[data-icon=unknown]`, { timeout: 10_000 });
    await page.waitForSelector(`#remote-list li[data-address="${address}"]`);

    await page.click(`#remote-list button[aria-label="Remove contact ${address}"]`);
    await page.waitForSelector(row, { state: 'detached', timeout: 10_000 });
    // The list below reloads beside the contact list above: either may be first.
    await page.waitForSelector(`#remote-list li[data-address="${address}"]`, { state: 'detached', timeout: 10_000 });
    expect(await page.locator('#remote-list li').count()).toBe(0);
    expect(await server.call('GET', '/api/v1/users/bob/remote-contacts', admin)).toEqual({ addresses: [] });
    expect(bob.problems.filter((p) => !p.includes('status of 4'))).toEqual([]);
    await bob.context.close();
  });
});

describe('connectors in the console', () => {
  let adminPage: SignedIn;

  beforeAll(async () => {
    adminPage = await signIn(browser, server, 'admin', {}, { password: adminPassword });
    await adminPage.page.click('#console-toggle');
    await adminPage.page.waitForSelector('#console-users-rows tr[data-key=alice]');
  });

  afterAll(async () => {
    await adminPage?.context.close();
  });

  it('lists, adds, edits and deletes Teams user mappings, showing the server’s refusal', async () => {
    const page = adminPage.page;
    expect(await submit(page, 'console-teams-user', { user: 'carol', upn: '', tenant: tenant })).toBe('Please correct the marked fields.');
    expect(await page.getAttribute('#console-teams-user-upn', 'aria-invalid')).toBe('true');
    expect(await submit(page, 'console-teams-user', { user: 'carol', upn: 'carol', tenant })).toBe(
      'The server refused it: upn: carol is not user@domain',
    );
    await page.check('#console-teams-user-mirror_dnd');
    expect(await submit(page, 'console-teams-user', { user: 'carol', upn: 'carol@contoso.com', tenant })).toBe('Teams mapping of carol saved.');
    const row = '#console-teams-rows tr[data-key=carol]';
    await page.waitForSelector(row);
    expect(await page.$$eval(`${row} td`, (cells) => cells.slice(0, 4).map((c) => c.textContent))).toEqual([
      'carol',
      'carol@contoso.com',
      tenant,
      'yes',
    ]);
    expect(await server.call('GET', '/api/v1/users/carol/teams', admin)).toEqual({
      user: 'carol',
      upn: 'carol@contoso.com',
      tenant,
      mirror_dnd: true,
    });

    await page.click('#console-teams-rows button[aria-label="Edit the Teams mapping of carol"]');
    expect(await page.inputValue('#console-teams-user-upn')).toBe('carol@contoso.com');
    expect(await page.isChecked('#console-teams-user-mirror_dnd')).toBe(true);
    await page.uncheck('#console-teams-user-mirror_dnd');
    expect(await submit(page, 'console-teams-user', { upn: 'carol.example@contoso.com' })).toBe('Teams mapping of carol saved.');
    await page.waitForFunction(
      (selector) => document.querySelector(`${selector} td:nth-child(2)`)?.textContent === 'carol.example@contoso.com',
      row,
    );
    expect(await page.textContent(`${row} td:nth-child(4)`)).toBe('no');

    await page.click('#console-teams-rows button[aria-label="Delete the Teams mapping of carol"]');
    await page.waitForSelector(row, { state: 'detached' });
    expect(await page.textContent('#console-teams-user-result')).toBe('Teams mapping of carol deleted.');
    await expect(server.call('GET', '/api/v1/users/carol/teams', admin)).rejects.toThrow(/404/);
  });

  it('sets a user’s calendar source, shows its last error, edits and deletes it', async () => {
    const page = adminPage.page;
    expect(await submit(page, 'console-calendar-source', { user: 'dave', mode: 'caldav', url: 'ftp://calendar.test/dave' })).toContain(
      'The server refused it: url: must be an http:// or https:// URL',
    );
    // A CalDAV server that is not there: the sync fails and says why.
    const url = `http://127.0.0.1:${await unusedTcpPort()}/dave/work/`;
    expect(await submit(page, 'console-calendar-source', { user: 'dave', mode: 'caldav', url, username: 'dave', password: 'cal-secret' })).toBe(
      'Calendar source of dave saved.',
    );
    const row = '#console-calendar-rows tr[data-key=dave]';
    await page.waitForSelector(row);
    expect(await page.$$eval(`${row} td`, (cells) => cells.slice(0, 5).map((c) => c.textContent))).toEqual(['dave', 'CalDAV', url, 'dave', 'yes']);
    const status = `${row} td:nth-child(6)`;
    for (let tries = 0; tries < 30 && !(await page.textContent(status))?.startsWith('failed: '); ++tries) {
      await page.waitForTimeout(500);
      await page.click('#console-calendar-rows button[aria-label="Read the calendar status of dave again"]');
    }
    expect(await page.textContent(status)).toMatch(/^failed: \S/);
    expect(await page.textContent(`${row} td:nth-child(7)`)).not.toBe('');

    // Edit: the password stays unless given again.
    await page.click('#console-calendar-rows button[aria-label="Edit the calendar source of dave"]');
    expect(await page.inputValue('#console-calendar-source-url')).toBe(url);
    expect(await page.inputValue('#console-calendar-source-password')).toBe('');
    expect(await submit(page, 'console-calendar-source', { mode: 'ics', url: `${url}calendar.ics` })).toBe('Calendar source of dave saved.');
    await page.waitForFunction((selector) => document.querySelector(`${selector} td:nth-child(2)`)?.textContent === 'ICS file', row);
    expect(await page.textContent(`${row} td:nth-child(5)`)).toBe('yes');

    await page.click('#console-calendar-rows button[aria-label="Delete the calendar source of dave"]');
    await page.waitForSelector(row, { state: 'detached' });
    await expect(server.call('GET', '/api/v1/users/dave/calendar/source', admin)).rejects.toThrow(/404/);
    expect(adminPage.problems.filter((p) => !/status of (400|404)/.test(p))).toEqual([]);
  });
});
