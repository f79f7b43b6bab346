// The API client. Two ways in: a session cookie (with its CSRF token on every state-changing
// request) or an API token sent as a bearer header. Never both: a bearer request is exempt
// from CSRF, so the token path must not depend on cookies.

import type { Session } from './types';

const TOKEN_KEY = 'sonde.token';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    /** Seconds to wait before trying again, from a 429's `Retry-After`. */
    public retryAfter: number | null = null,
  ) {
    super(message);
  }
}

// Called when the appliance answers 401 to a signed-in request: the session expired or the
// token was revoked, so the console goes back to its login page instead of showing errors.
let unauthorized: () => void = () => {};

/** Sets what happens when a request is refused for want of a valid session or token. */
export function onUnauthorized(handler: () => void) {
  unauthorized = handler;
}

/** Reports a 401 seen outside `request` (the event stream). */
export function signalUnauthorized() {
  unauthorized();
}

interface Credentials {
  token: string | null;
  csrf: string | null;
}

const creds: Credentials = {
  token: sessionStorage.getItem(TOKEN_KEY),
  csrf: null,
};

export function useToken(token: string | null) {
  creds.token = token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function hasToken(): boolean {
  return creds.token !== null;
}

export function useCsrf(csrf: string | null) {
  creds.csrf = csrf;
}

/** Headers that authenticate a request (used by the event stream too). */
export function authHeaders(method = 'GET'): Record<string, string> {
  const headers: Record<string, string> = {};
  if (creds.token) headers['Authorization'] = `Bearer ${creds.token}`;
  else if (creds.csrf && method !== 'GET') headers['X-CSRF-Token'] = creds.csrf;
  return headers;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers = authHeaders(method);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, 'network', `The appliance did not answer (${String(e)}).`);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: fall through with the raw text as the message.
  }
  if (!response.ok) {
    // The login itself answers 401 for a wrong password; that is the form's to show.
    if (response.status === 401 && !(method === 'POST' && (path === '/session' || path === '/setup'))) {
      unauthorized();
    }
    const retry = Number(response.headers.get('Retry-After'));
    const detail = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(
      response.status,
      detail?.code ?? String(response.status),
      detail?.message ?? (text || response.statusText),
      response.status === 429 && Number.isFinite(retry) && retry > 0 ? retry : null,
    );
  }
  return json as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);
export const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, body);
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);

/** The current session, or null when the cookie is missing or the server has no sessions. */
export async function currentSession(): Promise<Session | null> {
  try {
    const session = await get<Session>('/session');
    useCsrf(session.csrf_token);
    return session;
  } catch {
    return null;
  }
}

/** Builds a query string from the set values only. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Fetches an authenticated file and hands it to the browser as a download. */
export async function download(path: string, fallbackName: string): Promise<void> {
  const response = await fetch(`/api/v1${path}`, { headers: authHeaders(), credentials: 'same-origin' });
  if (!response.ok) throw new ApiError(response.status, String(response.status), await response.text());
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
