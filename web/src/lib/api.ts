/** The gateway's API from the browser: same origin, the access token in memory only,
 * the refresh token in an HttpOnly cookie the page can never read (see session.ts).
 *
 * Every failure becomes an `ApiError` carrying the API's own `detail` sentence, its
 * stable `code` and the fields at fault, so forms show the API's validation messages
 * word for word. */

export const API = "/api/v1";

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
    this.name = "ApiError";
  }

  /** The message for one field (`body.params.symbol` or just `symbol`), if any. */
  forField(name: string): string | undefined {
    return this.errors.find((e) => e.field === name || e.field.endsWith(`.${name}`))?.message;
  }
}

let accessToken: string | null = null;
let refresher: (() => Promise<boolean>) | null = null;

export function setAccessToken(token: string | null): void {
  accessToken = token;
}

export function getAccessToken(): string | null {
  return accessToken;
}

/** What to call when a request is refused as unauthenticated: it renews the access
 * token (true) or says the session is over (false). Set by session.ts. */
export function onUnauthenticated(refresh: () => Promise<boolean>): void {
  refresher = refresh;
}

export async function errorFrom(response: Response): Promise<ApiError> {
  let body: { detail?: unknown; code?: unknown; errors?: unknown } = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page, a dropped connection
  }
  const detail =
    typeof body.detail === "string" ? body.detail : `${response.status} ${response.statusText}`;
  const code = typeof body.code === "string" ? body.code : "error";
  const errors = Array.isArray(body.errors) ? (body.errors as FieldError[]) : [];
  return new ApiError(response.status, code, detail, errors);
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  /** Do not try a token refresh on 401 (the auth calls themselves). */
  noRefresh?: boolean;
}

export function url(path: string, query?: RequestOptions["query"]): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return `${API}${path}${qs ? `?${qs}` : ""}`;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const send = (): Promise<Response> => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (accessToken) headers.authorization = `Bearer ${accessToken}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    return fetch(url(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
    });
  };
  let response: Response;
  try {
    response = await send();
  } catch {
    throw new ApiError(0, "offline", "The platform cannot be reached: check your connection.");
  }
  if (response.status === 401 && !options.noRefresh && refresher && (await refresher())) {
    response = await send();
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const get = <T>(path: string, query?: RequestOptions["query"]) =>
  request<T>("GET", path, { query });
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, { body });
export const put = <T>(path: string, body?: unknown) => request<T>("PUT", path, { body });
export const del = (path: string) => request<void>("DELETE", path);
