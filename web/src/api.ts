// The REST client. Types come from src/api-types.ts, generated from the server's openapi.json.
import type { components } from './api-types';

export type Presence = components['schemas']['Presence'];
export type User = components['schemas']['User'];
export type State = components['schemas']['State'];
export type ManualRequest = components['schemas']['Manual'];
export type ErrorBody = components['schemas']['Error'];
export type Profile = components['schemas']['Profile'];
export type ProfileSelection = components['schemas']['ProfileSelection'];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(
    private token = '',
    private readonly base = '',
  ) {}

  get accessToken(): string {
    return this.token;
  }

  async login(username: string, password: string): Promise<{ token: string; expires_at: string }> {
    const answer = await this.call<{ token: string; expires_at: string }>('POST', '/api/v1/auth/token', {
      username,
      password,
    });
    this.token = answer.token;
    return answer;
  }

  me(): Promise<User> {
    return this.call('GET', '/api/v1/me');
  }

  async states(): Promise<State[]> {
    return (await this.call<{ states?: State[] }>('GET', '/api/v1/states')).states ?? [];
  }

  async contacts(user: string): Promise<string[]> {
    return (await this.call<{ users?: string[] }>('GET', `/api/v1/users/${enc(user)}/contacts`)).users ?? [];
  }

  async directory(query: string): Promise<User[]> {
    const q = query ? `?q=${encodeURIComponent(query)}` : '';
    return (await this.call<{ users?: User[] }>('GET', `/api/v1/users${q}`)).users ?? [];
  }

  presence(user: string): Promise<Presence> {
    return this.call('GET', `/api/v1/users/${enc(user)}/presence`);
  }

  setManual(user: string, body: ManualRequest): Promise<Presence> {
    return this.call('PUT', `/api/v1/users/${enc(user)}/presence/manual`, body);
  }

  clearManual(user: string): Promise<Presence> {
    return this.call('DELETE', `/api/v1/users/${enc(user)}/presence/manual`);
  }

  putState(id: string, body: { type: string; message?: string; order?: number }): Promise<State> {
    return this.call('PUT', `/api/v1/states/${enc(id)}`, body);
  }

  async deleteState(id: string): Promise<void> {
    await this.call('DELETE', `/api/v1/states/${enc(id)}`);
  }

  // The user's personal profiles, then the shared ones they may use.
  async profiles(user: string): Promise<Profile[]> {
    return (await this.call<{ profiles?: Profile[] }>('GET', `/api/v1/users/${enc(user)}/profiles`)).profiles ?? [];
  }

  selection(user: string): Promise<ProfileSelection> {
    return this.call('GET', `/api/v1/users/${enc(user)}/profile`);
  }

  selectProfile(user: string, profile: string): Promise<ProfileSelection> {
    return this.call('PUT', `/api/v1/users/${enc(user)}/profile`, { profile });
  }

  endProfile(user: string): Promise<ProfileSelection> {
    return this.call('DELETE', `/api/v1/users/${enc(user)}/profile`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', '');
    }
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (!response.ok) {
      const error = (parsed as Partial<ErrorBody>).error;
      throw new ApiError(response.status, error?.code ?? 'internal', error?.message ?? response.statusText);
    }
    return parsed as T;
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
