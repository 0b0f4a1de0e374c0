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
