import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPassword, contact, freshDir, launchChromium, Presenced, signIn } from './harness';

const require = createRequire(import.meta.url);
let browser: Browser;
let server: Presenced;
let data: ReturnType<typeof freshDir>;

beforeAll(async () => {
  data = freshDir('presenced-web-');
  server = new Presenced(data.path);
  await server.start();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  expect(await server?.stop()).toBe(0);
  data?.remove();
});

// fetch() would normalise the path; node:http sends it as written.
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(base + '/', { path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

// Redraws wait for an animation frame and the own presence for a REST read: poll, don't peek.
async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel)?.textContent?.includes(want) ?? false,
    [selector, text] as const,
    { timeout: 10_000 },
  );
}

describe('static files', () => {
  it('serves the client with a strict CSP, nosniff and cache headers', async () => {
    const index = await fetch(server.url + '/');
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(server.url + script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('refuses paths outside the web root and answers 404 for unknown files and directories', async () => {
    const outside = [
      '/../../etc/passwd',
      '//etc/passwd',
      '///etc/passwd',
      '/assets/../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/../../CMakeCache.txt',
      '/etc/passwd',
      '/nope.js',
      '/assets',
      '/assets/',
    ];
    for (const path of outside) {
      const { status, body } = await rawGet(server.url, path);
      expect(status, path).toBe(404);
      expect(body, path).not.toContain('root:');
    }
  });
});

describe('web client', () => {
  it('shows my change on a second user’s page live, with the explanation for me', async () => {
    const [alice, bob] = await Promise.all([signIn(browser, server, 'alice'), signIn(browser, server, 'bob')]);
    await bob.page.waitForSelector(contact('alice', '[data-availability=Available]'));

    await alice.page.selectOption('#me-state', 'Busy');
    await alice.page.fill('#me-note', 'back at 3');
    await alice.page.fill('#me-until', '2099-01-01T15:00');
    await alice.page.click('#me-set');
    await alice.page.waitForSelector('#me-current[data-availability=Busy]');
    await waitForText(alice.page, '#me-why', 'chosen by hand');

    const row = await bob.page.waitForSelector(contact('alice', '[data-availability=Busy][data-icon=busy]'), { timeout: 10_000 });
    expect(await row.textContent()).toContain('back at 3');
    expect(await row.textContent()).toContain('until');
    expect(await row.$eval('svg', (svg) => svg.getAttribute('aria-label'))).toBe('Busy');

    // An admin-defined state from GET /api/v1/states, then back to automatic.
    await alice.page.fill('#me-note', '');
    await alice.page.fill('#me-until', '');
    await alice.page.selectOption('#me-state', 'lunch');
    await alice.page.click('#me-set');
    const lunch = await bob.page.waitForSelector(contact('alice', '[data-availability=Away][data-icon=away]'), { timeout: 10_000 });
    expect(await lunch.textContent()).toContain('At lunch');
    await alice.page.click('#me-clear');
    await bob.page.waitForSelector(contact('alice', '[data-availability=Available]'), { timeout: 10_000 });
    await waitForText(alice.page, '#me-why', 'signed in');

    // The same page in German: every visible string changes.
    await bob.page.selectOption('#language', 'de');
    expect(await bob.page.textContent('#contacts-heading')).toBe('Kontakte');
    expect(await bob.page.textContent(contact('alice'))).toContain('Verfügbar');
    expect(await bob.page.getAttribute('html', 'lang')).toBe('de');

    // The theme toggle overrides the system's light theme and is remembered across a reload.
    expect(await bob.page.getAttribute('#theme', 'aria-pressed')).toBe('false');
    await bob.page.focus('#theme');
    await bob.page.keyboard.press('Enter');
    expect(await bob.page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await bob.page.getAttribute('#theme', 'aria-pressed')).toBe('true');
    await bob.page.reload();
    await bob.page.waitForSelector(contact('alice', '[data-availability=Available]'));
    expect(await bob.page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await bob.page.textContent('#contacts-heading')).toBe('Kontakte');

    expect([...alice.problems, ...bob.problems]).toEqual([]);
    await alice.context.close();
    await bob.context.close();
  });

  it('shows groups as grey entries with their members live beneath', async () => {
    const bob = await signIn(browser, server, 'bob');
    const heading = await bob.page.waitForSelector('#group-list section[data-group=support] h4');
    expect(await heading.textContent()).toBe('Support (3)');
    expect(await heading.$eval('svg', (svg) => [svg.getAttribute('aria-label'), svg.getAttribute('class')])).toEqual([
      'Group, no presence of its own',
      expect.stringContaining('icon--unknown'),
    ]);
    const carolToken = await server.token('carol');
    await server.call('PUT', '/api/v1/users/carol/presence/manual', carolToken, { state: 'DoNotDisturb' });
    await bob.page.waitForSelector('#group-list section[data-group=support] li[data-user=carol][data-availability=DoNotDisturb]', {
      timeout: 10_000,
    });
    await server.call('DELETE', '/api/v1/users/carol/presence/manual', carolToken);
    await bob.context.close();
  });

  it('shows a user who blocked me grey and unknown, without their note', async () => {
    const dave = await server.token('dave');
    await server.call('PUT', '/api/v1/users/dave/visibility/carol', dave, { level: 'blocked' });
    await server.call('PUT', '/api/v1/users/dave/presence/manual', dave, { state: 'Busy', note: 'secret plans' });

    const [carol, erin] = await Promise.all([signIn(browser, server, 'carol'), signIn(browser, server, 'erin')]);
    const blocked = await carol.page.waitForSelector(contact('dave', '[data-availability=PresenceUnknown][data-icon=unknown]'));
    expect(await blocked.textContent()).toContain('Unknown');
    expect(await blocked.textContent()).not.toContain('secret');
    expect(await blocked.$eval('svg', (svg) => getComputedStyle(svg.querySelector('circle')!).fill)).toBe('rgb(110, 119, 129)');
    // Someone not blocked sees it.
    const seen = await erin.page.waitForSelector(contact('dave', '[data-availability=Busy]'));
    expect(await seen.textContent()).toContain('secret plans');

    // A later change reaches erin but still tells carol nothing.
    await server.call('PUT', '/api/v1/users/dave/presence/manual', dave, { state: 'DoNotDisturb', note: 'more secrets' });
    await erin.page.waitForSelector(contact('dave', '[data-icon=do_not_disturb]'), { timeout: 10_000 });
    expect(await carol.page.textContent(contact('dave'))).not.toContain('secret');
    expect(await carol.page.getAttribute(contact('dave'), 'data-icon')).toBe('unknown');

    await carol.context.close();
    await erin.context.close();
  });

  it('applies a shared profile’s state and note, and restores the state before at its end', async () => {
    const admin = await server.token('admin', adminPassword);
    await server.call('PUT', '/api/v1/profiles/meeting', admin, {
      state: 'Busy',
      name: 'In a meeting',
      note: 'Room 2',
      duration_min: 60,
    });
    const [alice, bob] = await Promise.all([signIn(browser, server, 'alice'), signIn(browser, server, 'bob')]);
    await bob.page.waitForSelector(contact('alice', '[data-availability=Available]'));

    await alice.page.selectOption('#profile', 'meeting');
    await alice.page.click('#profile-select');
    const row = await bob.page.waitForSelector(contact('alice', '[data-availability=Busy]'), { timeout: 10_000 });
    expect(await row.textContent()).toContain('Room 2');
    await alice.page.waitForSelector('#me-current[data-availability=Busy]');
    await waitForText(alice.page, '#profile-current', 'Profile in use: In a meeting, until');

    await alice.page.click('#profile-end');
    await bob.page.waitForSelector(contact('alice', '[data-availability=Available]'), { timeout: 10_000 });
    await alice.page.waitForFunction(() => document.getElementById('profile-current')?.textContent === '');
    expect([...alice.problems, ...bob.problems]).toEqual([]);
    await alice.context.close();
    await bob.context.close();
  });

  it('shows the out-of-office overlay and appointment, and the logout state when a page closes', async () => {
    const admin = await server.token('admin', adminPassword);
    const now = Date.now();
    await server.call('PUT', '/api/v1/users/erin/presence/calendar', admin, {
      appointments: [
        {
          id: 'trip',
          subject: 'Business trip',
          start: new Date(now - 60_000).toISOString(),
          end: new Date(now + 3_600_000).toISOString(),
          kind: 'out_of_office',
        },
        {
          id: 'fair',
          subject: 'Trade fair',
          start: new Date(now - 60_000).toISOString(),
          end: new Date(now + 1_800_000).toISOString(),
          kind: 'busy',
        },
      ],
    });
    await server.call('PATCH', '/api/v1/users/bob', admin, { logout_state: 'Away' });
    const [carol, bob] = await Promise.all([signIn(browser, server, 'carol'), signIn(browser, server, 'bob')]);
    const erin = await carol.page.waitForSelector(contact('erin', '[data-out-of-office=true]'), { timeout: 10_000 });
    expect(await erin.$eval('svg', (svg) => svg.getAttribute('aria-label'))).toContain('out of office');
    expect(await erin.$$('svg .icon__away-overlay')).toHaveLength(1);
    expect(await erin.textContent()).toContain('out of office');
    // carol is in erin's group: her visibility level shows the subject.
    expect(await erin.textContent()).toContain('Appointment: Trade fair');
    const own = await signIn(browser, server, 'erin');
    await waitForText(own.page, '#me-current', 'Appointment: Trade fair');
    await waitForText(own.page, '#me-why', 'in an appointment');
    await own.context.close();

    await carol.page.waitForSelector(contact('bob', '[data-availability=Available]'));
    await bob.context.close();
    await carol.page.waitForSelector(contact('bob', '[data-availability=Away]'), { timeout: 10_000 });
    expect(carol.problems).toEqual([]);
    await carol.context.close();
  });

  it('reports idle after a minute without input, so watchers see Inactive, and active again', async () => {
    const [carol, alice] = await Promise.all([
      signIn(browser, server, 'carol', {}, { clockStart: Date.now() - 10 * 60_000 }),
      signIn(browser, server, 'alice'),
    ]);
    await alice.page.waitForSelector(contact('carol', '[data-availability=Available]'), { timeout: 10_000 });
    // The page's clock started ten minutes back: its last input is that old for the server too.
    await carol.page.clock.fastForward(61_000);
    await alice.page.waitForSelector(contact('carol', '[data-availability=AvailableIdle][data-icon=inactive]'), { timeout: 10_000 });
    await carol.page.mouse.move(10, 10);
    await carol.page.mouse.move(40, 40);
    await alice.page.waitForSelector(contact('carol', '[data-availability=Available]'), { timeout: 10_000 });
    await carol.context.close();
    await alice.context.close();
  });

  it('lets the admin define a state, shows the server’s refusal, and a user picks the new state', async () => {
    const admin = await signIn(browser, server, 'admin', {}, { password: adminPassword });
    await admin.page.click('#console-toggle');
    await admin.page.waitForSelector('#console-states-rows tr[data-key=lunch]');

    // The page checks the id first; the server refuses what passes that (a built-in id), and
    // its message is shown.
    await admin.page.fill('#console-state-id', 'bad id');
    await admin.page.click('#console-state button[type=submit]');
    await admin.page.waitForSelector('#console-state-id[aria-invalid=true]');
    expect(await admin.page.textContent('#console-state-id-error')).toContain('is not an ID');
    await admin.page.fill('#console-state-id', 'Busy');
    await admin.page.click('#console-state button[type=submit]');
    await admin.page.waitForSelector('#console-state-result.message--error');
    expect(await admin.page.textContent('#console-state-result')).toBe('The server refused it: state Busy is built in');

    await admin.page.fill('#console-state-id', 'focus');
    await admin.page.selectOption('#console-state-type', 'dnd');
    await admin.page.fill('#console-state-message', 'Focus time');
    await admin.page.fill('#console-state-order', '70');
    await admin.page.click('#console-state button[type=submit]');
    await admin.page.waitForSelector('#console-states-rows tr[data-key=focus]');
    expect(await admin.page.textContent('#console-state-result')).toBe('State focus saved.');

    const [alice, bob] = await Promise.all([signIn(browser, server, 'alice'), signIn(browser, server, 'bob')]);
    expect(await alice.page.isHidden('#console-toggle')).toBe(true);
    await alice.page.selectOption('#me-state', 'focus');
    await alice.page.fill('#me-note', '');
    await alice.page.click('#me-set');
    const row = await bob.page.waitForSelector(contact('alice', '[data-availability=DoNotDisturb]'), { timeout: 10_000 });
    expect(await row.textContent()).toContain('Focus time');

    await admin.page.click('#console-states-rows tr[data-key=focus] button[data-action="admin.delete"]');
    await admin.page.waitForFunction(() => !document.querySelector('#console-states-rows tr[data-key=focus]'));
    await alice.page.click('#me-clear');
    // The refused PUT is logged by the browser as a failed request; nothing else may be.
    const refused = /status of 409/;
    expect([...admin.problems.filter((p) => !refused.test(p)), ...alice.problems, ...bob.problems]).toEqual([]);
    expect(admin.problems.filter((p) => refused.test(p))).toHaveLength(1);
    for (const page of [admin, alice, bob]) await page.context.close();
  });

  it('says it is offline while the server restarts, then resumes and converges', async () => {
    const [alice, bob] = await Promise.all([signIn(browser, server, 'alice'), signIn(browser, server, 'bob')]);
    const aliceToken = await server.token('alice');
    await server.call('PUT', '/api/v1/users/alice/presence/manual', aliceToken, { state: 'Away', note: 'before restart' });
    await bob.page.waitForSelector(contact('alice', '[data-availability=Away]'), { timeout: 10_000 });

    const port = server.port;
    expect(await server.stop()).toBe(0);
    await bob.page.waitForSelector('#offline:not([hidden])', { timeout: 10_000 });
    expect(await bob.page.textContent('#offline')).toContain('Offline');
    await server.start(port);
    // A change made right after the restart, whether before or after the page is back.
    await server.call('PUT', '/api/v1/users/alice/presence/manual', aliceToken, { state: 'Busy', note: 'after restart' });

    await bob.page.waitForSelector('#offline[hidden]', { state: 'attached', timeout: 20_000 });
    const row = await bob.page.waitForSelector(contact('alice', '[data-availability=Busy]'), { timeout: 10_000 });
    expect(await row.textContent()).toContain('after restart');
    await alice.page.waitForSelector('#me-current[data-availability=Busy]', { timeout: 10_000 });

    // Still live on the new connection.
    await server.call('PUT', '/api/v1/users/alice/presence/manual', aliceToken, { state: 'BeRightBack' });
    await bob.page.waitForSelector(contact('alice', '[data-availability=BeRightBack]'), { timeout: 10_000 });
    await alice.context.close();
    await bob.context.close();
  }, 60_000);
});

describe('accessibility', () => {
  // axe-core is injected by the test, so this context alone bypasses the page's CSP.
  const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`has no serious axe violations in the ${colorScheme} theme`, async () => {
      const { context, page } = await signIn(browser, server, 'bob', { bypassCSP: true, colorScheme });
      await page.waitForSelector(contact('alice'));
      await page.fill('#search', 'a');
      await page.waitForSelector('#search-results li');
      expect(await page.evaluate(() => document.documentElement.dataset.theme ?? 'system')).toBe('system');
      await page.addScriptTag({ content: axeSource });
      const violations = await page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run: (options: object) => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe;
        const result = await axe.run({ runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
      });
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
      if (process.env.PRESENCED_SCREENSHOTS) {
        await page.screenshot({ path: `${process.env.PRESENCED_SCREENSHOTS}/web-${colorScheme}.png`, fullPage: true });
      }
      await context.close();
    });
  }
});
