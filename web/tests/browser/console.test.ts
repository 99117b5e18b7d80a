// The admin console against a real presenced: every panel changes the server through its form,
// refusals show the server's message, and what the console set takes effect for users.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPassword, freshDir, launchChromium, Presenced, signIn, submit, type SignedIn } from './harness';

const require = createRequire(import.meta.url);
let browser: Browser;
let server: Presenced;
let data: ReturnType<typeof freshDir>;
let admin: SignedIn;

beforeAll(async () => {
  data = freshDir('presenced-console-');
  server = new Presenced(data.path);
  await server.start();
  browser = await launchChromium();
  admin = await signIn(browser, server, 'admin', {}, { password: adminPassword });
  await admin.page.click('#console-toggle');
  await admin.page.waitForSelector('#console-users-rows tr[data-key=alice]');
});

afterAll(async () => {
  await browser?.close();
  expect(await server?.stop()).toBe(0);
  data?.remove();
});

async function adminGet(path: string): Promise<Record<string, unknown>> {
  return (await server.call('GET', path, await server.token('admin', adminPassword))) as Record<string, unknown>;
}

describe('admin console', () => {
  it('is not offered to users, and the server refuses its routes to them', async () => {
    const alice = await signIn(browser, server, 'alice');
    expect(await alice.page.isHidden('#console-toggle')).toBe(true);
    const status = await alice.page.evaluate(async () => {
      const token = sessionStorage.getItem('presenced.token');
      const answer = await fetch('/api/v1/users', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: 'mallory', password: 'x' }),
      });
      return answer.status;
    });
    expect(status).toBe(403);
    await alice.context.close();
  });

  it('shows live server metrics', async () => {
    const connections = await admin.page.waitForSelector('dd[data-metric=connections]');
    await admin.page.waitForFunction(() => Number(document.querySelector('dd[data-metric=connections]')?.textContent) >= 1);
    expect(Number(await connections.textContent())).toBeGreaterThanOrEqual(1);
    // The rates need a second poll.
    await admin.page.waitForFunction(() => /\d/.test(document.querySelector('dd[data-metric=requestsPerSecond]')?.textContent ?? ''), null, {
      timeout: 10_000,
    });
  });

  it('creates a user, checking fields first and showing the server’s refusal', async () => {
    const page = admin.page;
    expect(await submit(page, 'console-user-new', { id: 'fr ank', password: '' })).toBe('Please correct the marked fields.');
    expect(await page.getAttribute('#console-user-new-id', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#console-user-new-password-error')).toBe('Required.');
    expect(await submit(page, 'console-user-new', { id: 'alice', password: 'secret' })).toBe(
      'The server refused it: user alice already exists',
    );
    expect(await submit(page, 'console-user-new', { id: 'frank', display_name: 'Frank Doe', password: 'frank-secret' })).toBe(
      'User frank created.',
    );
    await page.waitForSelector('#console-users-rows tr[data-key=frank]');
    expect(await page.getAttribute('#console-user-new-id', 'aria-invalid')).toBeNull();
  });

  it('edits groups, logout state and idle minutes; the logout state applies when the page closes', async () => {
    const page = admin.page;
    expect(await submit(page, 'console-group', { id: 'night', display_name: 'Night shift' })).toBe('Group night saved.');
    await page.click('#console-users-rows tr[data-key=frank] button[data-action="admin.edit"]');
    expect(await page.inputValue('#console-user-edit-user')).toBe('frank');
    expect(await submit(page, 'console-user-edit', { idle_minutes: '0' })).toBe('Please correct the marked fields.');
    expect(await page.textContent('#console-user-edit-idle_minutes-error')).toBe('“0” is not a whole number from 1 to 1440.');
    expect(
      await submit(page, 'console-user-edit', { groups: 'night', logout_state: 'Away', idle_minutes: '7', password: 'frank-new' }),
    ).toBe('User frank saved.');
    await page.waitForSelector('#console-groups-rows tr[data-key=night] >> text=frank');
    const row = await page.textContent('#console-users-rows tr[data-key=frank]');
    expect(row).toContain('Away');
    expect(row).toContain('7');
    expect(await adminGet('/api/v1/users/frank')).toMatchObject({ groups: ['night'], settings: { idle_minutes: 7, logout_state: 'Away' } });

    // The new password works; closing the page ends the session with the logout state.
    const frankPage = await signIn(browser, server, 'frank', {}, { password: 'frank-new' });
    await expect.poll(async () => (await adminGet('/api/v1/users/frank/presence')).availability).toBe('Available');
    await frankPage.context.close();
    await expect.poll(async () => (await adminGet('/api/v1/users/frank/presence')).availability, { timeout: 10_000 }).toBe('Away');
  });

  it('adds a device with its own SIP password and deletes it', async () => {
    const page = admin.page;
    await page.click('#console-users-rows tr[data-key=frank] button[data-action="admin.users.devices"]');
    await page.waitForFunction(() => (document.getElementById('console-device-user') as HTMLSelectElement).value === 'frank');
    expect(await submit(page, 'console-device', { device: 'desk', label: 'Desk phone', sip_password: 'sip-secret' })).toBe(
      'Device desk of frank saved.',
    );
    const row = await page.waitForSelector('#console-devices-rows tr[data-key=desk]');
    expect(await row.textContent()).toContain('yes');
    expect(await adminGet('/api/v1/users/frank/devices')).toEqual({ devices: [{ device: 'desk', label: 'Desk phone', has_sip_password: true }] });
    await page.click('#console-devices-rows tr[data-key=desk] button[data-action="admin.delete"]');
    await page.waitForFunction(() => !document.querySelector('#console-devices-rows tr[data-key=desk]'));
  });

  it('defines a profile for a group and enforces it for a user', async () => {
    const page = admin.page;
    expect(
      await submit(page, 'console-profile', { id: 'training', name: 'Training', state: 'Away', note: 'In training', duration_min: '90', groups: 'night' }),
    ).toBe('Profile training saved.');
    const row = await page.waitForSelector('#console-profiles-rows tr[data-key=training]');
    expect(await row.textContent()).toContain('group night');
    expect(await submit(page, 'console-enforce', { user: 'frank', profile: 'training' })).toBe('Profile training is enforced for frank.');
    expect(await adminGet('/api/v1/users/frank/presence')).toMatchObject({ availability: 'Away', note: 'In training' });
    // Enforced: frank may not change his state himself.
    const frankToken = await server.token('frank', 'frank-new');
    await expect(server.call('PUT', '/api/v1/users/frank/presence/manual', frankToken, { state: 'Available' })).rejects.toThrow(/403/);
  });

  it('sets the visibility policy and the automatic action per state type', async () => {
    const page = admin.page;
    expect(await submit(page, 'console-policy', { default_level: 'team', minimum: 'public' })).toBe('Visibility saved.');
    expect(await adminGet('/api/v1/visibility/policy')).toMatchObject({ default_level: 'team', minimum: 'public' });
    expect(await submit(page, 'console-actions', { dnd: 'dnd', away: 'find_me' })).toBe('Actions saved.');
    expect(await adminGet('/api/v1/routing/state-actions')).toMatchObject({ dnd: 'dnd', away: 'find_me', available: 'none' });
  });

  it('defines a queue with the states that admit its agents', async () => {
    const page = admin.page;
    expect(await submit(page, 'console-queue', { id: 'support', members: 'frank, nobody' })).toMatch(/^The server refused it: .*nobody/);
    await page.check('#console-queue-activities input[value=InAMeeting]');
    expect(await submit(page, 'console-queue', { id: 'support', members: 'frank alice', strategy: 'round_robin', agent_ring_s: '20' })).toBe(
      'Queue support saved.',
    );
    const row = await page.waitForSelector('#console-queues-rows tr[data-key=support]');
    expect(await row.textContent()).toContain('In a meeting');
    expect(await adminGet('/api/v1/queues/support')).toMatchObject({
      members: ['frank', 'alice'],
      strategy: 'round_robin',
      agent_ring_s: 20,
      availabilities: ['Available'],
      activities: ['InAMeeting'],
    });
  });

  it('makes one admin-defined state the default, which users are offered first and preselected', async () => {
    const page = admin.page;
    await page.check('#console-state-default');
    expect(await submit(page, 'console-state', { id: 'standup', type: 'dnd', message: 'Stand-up', order: '40' })).toBe('State standup saved.');
    await page.waitForSelector('#console-states-rows tr[data-key=standup]');
    expect(await page.textContent('#console-states-rows tr[data-key=standup] td:nth-child(5)')).toBe('yes');
    // A second default: the server refuses it and names the first.
    await page.check('#console-state-default');
    const refused = await submit(page, 'console-state', { id: 'retro', type: 'away', message: 'Retro', order: '41' });
    expect(refused).toBe('The server refused it: default: state standup is the default; clear it there first');
    expect(await page.locator('#console-states-rows tr[data-key=retro]').count()).toBe(0);

    const dave = await signIn(browser, server, 'dave');
    expect(await dave.page.$eval('#me-state', (el) => (el as HTMLSelectElement).options[0]?.value)).toBe('standup');
    expect(await dave.page.inputValue('#me-state')).toBe('standup');
    await dave.context.close();

    // Edit brings the flag into the form; unticked, it is no longer the default.
    await page.click('#console-states-rows button[aria-label="Edit state standup"]');
    expect(await page.isChecked('#console-state-default')).toBe(true);
    await page.uncheck('#console-state-default');
    expect(await submit(page, 'console-state', {})).toBe('State standup saved.');
    await page.waitForFunction(() => document.querySelector('#console-states-rows tr[data-key=standup] td:nth-child(5)')?.textContent === '');
    const states = (await adminGet('/api/v1/states')).states as { id: string; default: boolean }[];
    expect(states.filter((s) => s.default)).toEqual([]);
    await page.click('#console-states-rows button[aria-label="Delete state standup"]');
    await page.waitForSelector('#console-states-rows tr[data-key=standup]', { state: 'detached' });
  });

  it('creates an API key that works for the system account, lists it without the token and revokes it', async () => {
    const page = admin.page;
    expect(await submit(page, 'console-key', { user: 'frank', label: 'pbx', days: '30' })).toMatch(/^Key for frank, valid until /);
    const token = (await page.textContent('#console-key-token')) ?? '';
    expect(token.length).toBeGreaterThan(20);
    expect(await server.call('GET', '/api/v1/me', token)).toMatchObject({ id: 'frank' });
    const keys = (await adminGet('/api/v1/apikeys')).api_keys as { id: string; user: string }[];
    const id = keys.find((k) => k.user === 'frank')?.id ?? '';
    const row = await page.waitForSelector(`#console-keys-rows tr[data-key="${id}"]`);
    expect(await row.textContent()).not.toContain(token);
    await row.$eval('button[data-action="admin.keys.revoke"]', (b) => (b as HTMLButtonElement).click());
    await page.waitForFunction((key) => !document.querySelector(`#console-keys-rows tr[data-key="${key}"]`), id);
    expect(await page.textContent('#console-key-result')).toBe('Key pbx of frank revoked.');
    await expect(server.call('GET', '/api/v1/me', token)).rejects.toThrow(/401/);
  });

  it('speaks German when the page does', async () => {
    const page = admin.page;
    await page.selectOption('#language', 'de');
    expect(await page.textContent('#console-users-heading')).toBe('Benutzer');
    expect(await page.textContent('#console-toggle')).toBe('Zurück zur Präsenz');
    expect(await page.textContent('#console-state-type option[value=dnd]')).toBe('Nicht stören');
    expect(await page.textContent('#console-users-rows tr[data-key=alice]')).toContain('Benutzer');
    expect(await page.textContent('#console-actions-away option[value=find_me]')).toBe('Auch Find-me-Nummern klingeln');
    await page.selectOption('#language', 'en');
    expect(await page.textContent('#console-state-type option[value=dnd]')).toBe('Do not disturb');
  });

  it('deletes a user after asking', async () => {
    const page = admin.page;
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.click('#console-users-rows tr[data-key=frank] button[data-action="admin.delete"]');
    expect(await page.$('#console-users-rows tr[data-key=frank]')).not.toBeNull();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#console-users-rows tr[data-key=frank] button[data-action="admin.delete"]');
    await page.waitForFunction(() => !document.querySelector('#console-users-rows tr[data-key=frank]'));
    await expect(adminGet('/api/v1/users/frank')).rejects.toThrow(/404/);
    // Only the refusals the tests provoked reached the console as failed requests.
    expect(admin.problems.filter((p) => !/status of (409|400|404)/.test(p))).toEqual([]);
  });
});

describe('console accessibility', () => {
  const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`has no serious axe violations in the ${colorScheme} theme`, async () => {
      const { context, page } = await signIn(browser, server, 'admin', { bypassCSP: true, colorScheme }, { password: adminPassword });
      await page.click('#console-toggle');
      await page.waitForSelector('#console-users-rows tr[data-key=alice]');
      await page.waitForFunction(() => /\d/.test(document.querySelector('dd[data-metric=eventsPerSecond]')?.textContent ?? ''), null, {
        timeout: 10_000,
      });
      await page.addScriptTag({ content: axeSource });
      const violations = await page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run: (options: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: unknown }[] }[] }> } }).axe;
        const result = await axe.run({ runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target) }));
      });
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
      if (process.env.PRESENCED_SCREENSHOTS) {
        await page.screenshot({ path: `${process.env.PRESENCED_SCREENSHOTS}/console-${colorScheme}.png`, fullPage: true });
      }
      await context.close();
    });
  }
});
