// A real presenced (PRESENCED_BIN) serving the built client (PRESENCED_WEB_ROOT) on loopback, and
// Debian's chromium driven by playwright-core. Nothing here fakes the server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const presencedBin = process.env.PRESENCED_BIN ?? '';
export const webRoot = process.env.PRESENCED_WEB_ROOT ?? '';
export const chromiumPath = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const adminPassword = 'admin';

export class Presenced {
  url = '';
  private child: ChildProcess | null = null;
  readonly log: string[] = [];

  // extraArgs: connectors and federation (--teams-config, --sip, --sip-peer).
  constructor(
    readonly dataDir: string,
    private readonly extraArgs: string[] = [],
  ) {}

  // Port 0 picks a free port; a restart asks for the same one so open pages can come back.
  async start(port = 0): Promise<void> {
    const child = spawn(
      presencedBin,
      ['--data-dir', this.dataDir, '--http', `127.0.0.1:${port}`, '--demo', '--web-root', webRoot, ...this.extraArgs],
      { env: { ...process.env, PRESENCED_ADMIN_PASSWORD: adminPassword }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const lines = createInterface({ input: child.stdout! });
    createInterface({ input: child.stderr! }).on('line', (line) => this.log.push(line));
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`presenced did not listen:\n${this.log.join('\n')}`)), 15_000);
      child.on('exit', (code) => reject(new Error(`presenced exited with ${code}:\n${this.log.join('\n')}`)));
      lines.on('line', (line) => {
        this.log.push(line);
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const code = await exited;
    clearTimeout(timer);
    this.child = null;
    return code;
  }

  async token(username: string, password = 'demo'): Promise<string> {
    const answer = await this.call('POST', '/api/v1/auth/token', '', { username, password });
    return (answer as { token: string }).token;
  }

  async call(method: string, path: string, token: string, body?: unknown): Promise<unknown> {
    const response = await fetch(this.url + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : {};
  }
}

export function freshDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

// playwright's launch() gives every browser a fresh temporary profile (user-data-dir).
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface SignedIn {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

// A page of its own (own cookies and storage) signed in through the form, collecting console
// errors and CSP violations so a test can insist there are none.
export async function signIn(
  browser: Browser,
  server: Presenced,
  user: string,
  options: BrowserContextOptions = {},
  { clockStart, password = 'demo' }: { clockStart?: number; password?: string } = {},
): Promise<SignedIn> {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  const page = await context.newPage();
  // A page clock that runs from clockStart, so a test can move it on (idle reports).
  if (clockStart !== undefined) await page.clock.install({ time: clockStart });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(server.url + '/');
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.press('#login-password', 'Enter');
  await page.waitForSelector('#me:not([hidden])', { timeout: 10_000 });
  await page.waitForSelector('body[data-link=online]', { timeout: 10_000 });
  return { context, page, problems };
}

export function contact(user: string, attributes = ''): string {
  return `#contact-list li[data-user="${user}"]${attributes}`;
}

// Fills a console form's fields (selects by value), submits it and returns its message line.
export async function submit(page: Page, form: string, fields: Record<string, string>): Promise<string> {
  for (const [name, value] of Object.entries(fields)) {
    const selector = `#${form}-${name}`;
    if ((await page.$eval(selector, (el) => el.tagName)) === 'SELECT') {
      await page.selectOption(selector, value);
    } else {
      await page.fill(selector, value);
    }
  }
  await page.$eval(`#${form}-result`, (el) => (el.textContent = ''));
  await page.click(`#${form} button[type=submit]`);
  await page.waitForFunction((id) => (document.getElementById(id)?.textContent ?? '') !== '', `${form}-result`);
  return (await page.textContent(`#${form}-result`)) ?? '';
}
