/** A fetch double that answers by "METHOD /path" (the query ignored) and records the
 * calls: for page tests that need a few API answers. */

import { vi } from "vitest";

export type Reply = { status: number; body?: unknown } | ((init: RequestInit | undefined) => { status: number; body?: unknown });

export function fakeApi(routes: Record<string, Reply>) {
  return vi.fn(async (input: string, init?: RequestInit) => {
    const path = String(input).split("?")[0].replace(/^\/api\/v1/, "");
    const key = `${init?.method ?? "GET"} ${path}`;
    const route = routes[key];
    if (!route) return new Response(JSON.stringify({ detail: `no fake for ${key}`, code: "not_found", errors: [] }), { status: 404 });
    const { status, body } = typeof route === "function" ? route(init) : route;
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  });
}

export const page = <T>(items: T[]) => ({ items, limit: 100, offset: 0, next_offset: null });

/** A JSON response, as the gateway sends it. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** One request the page made, as a fake gateway saw it. */
export interface ApiCall {
  method: string;
  /** Without the `/api/v1` prefix. */
  path: string;
  query: URLSearchParams;
  body: unknown;
}

/** Replace `fetch` by a gateway that answers each call with `answer(call)` (undefined:
 * the API's 404); returns the calls, in order, for the test to check. */
export function stubGateway(answer: (call: ApiCall) => Response | undefined): ApiCall[] {
  const calls: ApiCall[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const parsed = new URL(url, "http://localhost");
      const call = {
        method: init.method ?? "GET",
        path: parsed.pathname.replace("/api/v1", ""),
        query: parsed.searchParams,
        body: init.body ? JSON.parse(String(init.body)) : undefined,
      };
      calls.push(call);
      return answer(call) ?? json(404, { detail: "not found", code: "not_found", errors: [] });
    }),
  );
  return calls;
}
