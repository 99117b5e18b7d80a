// The REST client. Types come from src/api-types.ts, generated from the server's openapi.json.
import type { components } from './api-types';

export type Presence = components['schemas']['Presence'];
export type User = components['schemas']['User'];
export type State = components['schemas']['State'];
export type ManualRequest = components['schemas']['Manual'];
export type ErrorBody = components['schemas']['Error'];
export type Profile = components['schemas']['Profile'];
export type ProfileSelection = components['schemas']['ProfileSelection'];
export type CreateUser = components['schemas']['CreateUser'];
export type UpdateUser = components['schemas']['UpdateUser'];
export type Device = components['schemas']['Device'];
export type Policy = components['schemas']['Policy'];
export type Queue = components['schemas']['Queue'];
export type StateActions = components['schemas']['StateActions'];
export type ApiKey = components['schemas']['ApiKey'];
export type TeamsUser = components['schemas']['TeamsUser'];
export type CalendarSource = components['schemas']['CalendarSource'];
// GET /api/v1/groups answers an untyped object in the OpenAPI document.
export interface Group {
  id: string;
  display_name: string;
  members: string[];
}

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

  // Presentities on federated servers (sip:, xmpp:); GET contacts lists them too.
  async remoteContacts(user: string): Promise<string[]> {
    return (await this.call<{ addresses?: string[] }>('GET', `/api/v1/users/${enc(user)}/remote-contacts`)).addresses ?? [];
  }

  async addRemoteContact(user: string, address: string): Promise<void> {
    await this.call('POST', `/api/v1/users/${enc(user)}/remote-contacts`, { address });
  }

  async removeRemoteContact(user: string, address: string): Promise<void> {
    await this.call('DELETE', `/api/v1/users/${enc(user)}/remote-contacts/${enc(address)}`);
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

  putState(id: string, body: { type: string; message?: string; order?: number; default?: boolean }): Promise<State> {
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

  // ---- Administration ----

  createUser(body: CreateUser): Promise<User> {
    return this.call('POST', '/api/v1/users', body);
  }

  updateUser(user: string, body: UpdateUser): Promise<User> {
    return this.call('PATCH', `/api/v1/users/${enc(user)}`, body);
  }

  async deleteUser(user: string): Promise<void> {
    await this.call('DELETE', `/api/v1/users/${enc(user)}`);
  }

  async groups(): Promise<Group[]> {
    return (await this.call<{ groups?: Group[] }>('GET', '/api/v1/groups')).groups ?? [];
  }

  async putGroup(id: string, displayName: string): Promise<void> {
    await this.call('PUT', `/api/v1/groups/${enc(id)}`, { display_name: displayName });
  }

  async deleteGroup(id: string): Promise<void> {
    await this.call('DELETE', `/api/v1/groups/${enc(id)}`);
  }

  async devices(user: string): Promise<Device[]> {
    return (await this.call<{ devices?: Device[] }>('GET', `/api/v1/users/${enc(user)}/devices`)).devices ?? [];
  }

  putDevice(user: string, body: { device: string; label?: string; sip_password?: string }): Promise<Device> {
    return this.call('POST', `/api/v1/users/${enc(user)}/devices`, body);
  }

  async deleteDevice(user: string, device: string): Promise<void> {
    await this.call('DELETE', `/api/v1/users/${enc(user)}/devices/${enc(device)}`);
  }

  async sharedProfiles(): Promise<Profile[]> {
    return (await this.call<{ profiles?: Profile[] }>('GET', '/api/v1/profiles')).profiles ?? [];
  }

  // PUT replaces the whole profile or queue; absent fields take their defaults.
  putProfile(id: string, body: Partial<Profile> & { state: string }): Promise<Profile> {
    return this.call('PUT', `/api/v1/profiles/${enc(id)}`, body);
  }

  async deleteProfile(id: string): Promise<void> {
    await this.call('DELETE', `/api/v1/profiles/${enc(id)}`);
  }

  enforceProfile(user: string, profile: string): Promise<ProfileSelection> {
    return this.call('PUT', `/api/v1/users/${enc(user)}/profile`, { profile, enforced: true });
  }

  policy(): Promise<Policy> {
    return this.call('GET', '/api/v1/visibility/policy');
  }

  putPolicy(body: Policy): Promise<Policy> {
    return this.call('PUT', '/api/v1/visibility/policy', body);
  }

  stateActions(): Promise<StateActions> {
    return this.call('GET', '/api/v1/routing/state-actions');
  }

  putStateActions(body: StateActions): Promise<StateActions> {
    return this.call('PUT', '/api/v1/routing/state-actions', body);
  }

  async queues(): Promise<Queue[]> {
    return (await this.call<{ queues?: Queue[] }>('GET', '/api/v1/queues')).queues ?? [];
  }

  putQueue(id: string, body: Partial<Queue> & { members: string[] }): Promise<Queue> {
    return this.call('PUT', `/api/v1/queues/${enc(id)}`, body);
  }

  async deleteQueue(id: string): Promise<void> {
    await this.call('DELETE', `/api/v1/queues/${enc(id)}`);
  }

  // The only answer that carries the token.
  createApiKey(body: { user: string; label: string; days?: number }): Promise<ApiKey & { token: string }> {
    return this.call('POST', '/api/v1/apikeys', body);
  }

  async apiKeys(): Promise<ApiKey[]> {
    return (await this.call<{ api_keys?: ApiKey[] }>('GET', '/api/v1/apikeys')).api_keys ?? [];
  }

  async revokeApiKey(id: string): Promise<void> {
    await this.call('DELETE', `/api/v1/apikeys/${enc(id)}`);
  }

  async teamsUsers(): Promise<TeamsUser[]> {
    return (await this.call<{ users?: TeamsUser[] }>('GET', '/api/v1/teams/users')).users ?? [];
  }

  putTeamsUser(user: string, body: { upn: string; tenant: string; mirror_dnd: boolean }): Promise<TeamsUser> {
    return this.call('PUT', `/api/v1/users/${enc(user)}/teams`, body);
  }

  async deleteTeamsUser(user: string): Promise<void> {
    await this.call('DELETE', `/api/v1/users/${enc(user)}/teams`);
  }

  // null: the user has none (404).
  async calendarSource(user: string): Promise<CalendarSource | null> {
    try {
      return await this.call<CalendarSource>('GET', `/api/v1/users/${enc(user)}/calendar/source`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  putCalendarSource(user: string, body: CalendarSource): Promise<CalendarSource> {
    return this.call('PUT', `/api/v1/users/${enc(user)}/calendar/source`, body);
  }

  async deleteCalendarSource(user: string): Promise<void> {
    await this.call('DELETE', `/api/v1/users/${enc(user)}/calendar/source`);
  }

  // Prometheus text; the console reads a few of its lines.
  async metrics(): Promise<string> {
    const response = await this.fetch('GET', '/metrics');
    const text = await response.text();
    if (!response.ok) throw errorOf(response, text);
    return text;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, path, body);
    const text = await response.text();
    if (!response.ok) throw errorOf(response, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', '');
    }
  }
}

// The server's JSON error as it is; a body that is not one (a proxy's page) gives the status text.
function errorOf(response: Response, text: string): ApiError {
  let error: Partial<ErrorBody['error']> | undefined;
  try {
    error = (JSON.parse(text) as Partial<ErrorBody>).error;
  } catch {
    error = undefined;
  }
  return new ApiError(response.status, error?.code ?? 'internal', error?.message ?? response.statusText);
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
