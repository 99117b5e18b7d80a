// The Graph emulator (tools/graph-emulator) in a child process on loopback, for the Teams
// connector, and the presenced configuration that points the connector at it.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const emulator = join(__dirname, '../../../tools/graph-emulator/graph_emulator.py');
export const tenant = 'contoso';
const clientId = '11111111-2222-3333-4444-555555555555';
const clientSecret = 'emulator-secret';

export class GraphEmulator {
  url = '';
  private child: ChildProcess | null = null;

  async start(): Promise<void> {
    const child = spawn(process.env.PYTHON ?? '/usr/bin/python3', [emulator, '--tenant', tenant, '--client-id', clientId, '--client-secret', clientSecret], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the Graph emulator did not listen')), 10_000);
      child.on('exit', (code) => reject(new Error(`the Graph emulator exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = /listening on (http:\/\/\S+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
  }

  stop(): void {
    this.child?.kill('SIGTERM');
    this.child = null;
  }

  // The --teams-config file for presenced, written into dir.
  writeConfig(dir: string): string {
    const path = join(dir, 'teams.json');
    const config = {
      tenants: [{ name: tenant, client_id: clientId, client_secret: clientSecret, graph_url: `${this.url}/v1.0`, token_url: `${this.url}/${tenant}/oauth2/v2.0/token` }],
      client_state: 'browser-test-client-state-0123',
    };
    writeFileSync(path, JSON.stringify(config));
    return path;
  }

  async addUser(upn: string): Promise<string> {
    return ((await this.control('POST', 'users', { upn })) as { id: string }).id;
  }

  // What the user's own Teams client reports.
  async teamsClient(id: string, availability: string, activity: string): Promise<void> {
    await this.control('POST', `users/${id}/client`, { availability, activity });
  }

  private async control(method: string, path: string, body: unknown): Promise<unknown> {
    const response = await fetch(`${this.url}/_control/${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`graph emulator ${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  }
}
