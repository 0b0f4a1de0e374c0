import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { KillSwitches } from "../src/pages/admin/killswitches";
import { seriousViolations } from "./a11y";

interface Call {
  method: string;
  url: string;
  body: unknown;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** What the page also asks for (the platform's risk ceiling, below the switches). */
const DEFAULTS: Record<string, (() => Response)[]> = {
  "GET /api/v1/admin/risk-limits": [() => json(200, { max_drawdown: null, max_var_95: null })],
};

/** A fake gateway: `answers` maps "METHOD path" to the response, in order of calls. */
function stubFetch(answers: Record<string, (() => Response)[]>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? "GET";
      const path = new URL(url, "http://localhost").pathname;
      calls.push({ method, url: path, body: init.body ? JSON.parse(String(init.body)) : undefined });
      const queue = answers[`${method} ${path}`] ?? DEFAULTS[`${method} ${path}`] ?? [];
      const next = queue.length > 1 ? queue.shift()! : queue[0];
      return next ? next() : json(404, { detail: "not found", code: "not_found", errors: [] });
    }),
  );
  return calls;
}

const ENGAGED = {
  scope: "venue",
  target: "binance",
  reason: "exchange incident",
  actor_id: "u1",
  engaged_at: "2026-01-01T00:00:00Z",
};

describe("the kill-switch page", () => {
  beforeEach(() => vi.restoreAllMocks());
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("engages a venue switch with the typed target and reason, and shows the outcome", async () => {
    const calls = stubFetch({
      "GET /api/v1/admin/kill-switches": [() => json(200, []), () => json(200, [ENGAGED])],
      "POST /api/v1/admin/kill-switches": [() => json(200, { switch: ENGAGED, changed: true, published: true })],
    });
    const { container } = render(<KillSwitches />);
    expect(await screen.findByText(/No kill switch is engaged/)).toBeTruthy();
    expect(await seriousViolations(container)).toEqual([]);

    const target = screen.getByLabelText("Target") as HTMLInputElement;
    expect(target.disabled).toBe(true); // global by default
    fireEvent.change(screen.getByLabelText("Scope"), { target: { value: "venue" } });
    expect(target.disabled).toBe(false);
    fireEvent.input(target, { target: { value: "binance" } });
    fireEvent.input(screen.getByLabelText("Reason"), { target: { value: "exchange incident" } });
    fireEvent.click(screen.getByRole("button", { name: "Engage" }));

    expect(await screen.findByText(/Kill switch engaged\. Risk was told at once\./)).toBeTruthy();
    const post = calls.find((c) => c.method === "POST");
    expect(post?.url).toBe("/api/v1/admin/kill-switches");
    expect(post?.body).toEqual({ scope: "venue", target: "binance", reason: "exchange incident" });
    expect(await screen.findByRole("table", { name: "Engaged kill switches" })).toBeTruthy();
    expect(await screen.findByRole("button", { name: "Release" })).toBeTruthy();
    expect(screen.getByRole("table", { name: "Engaged kill switches" }).textContent).toContain("exchange incident");
  });

  it("shows the API's detail when it refuses", async () => {
    stubFetch({
      "GET /api/v1/admin/kill-switches": [() => json(200, [])],
      "POST /api/v1/admin/kill-switches": [
        () =>
          json(403, {
            detail: "this needs the kill_switches:write permission, which your roles do not grant",
            code: "forbidden",
            errors: [],
          }),
      ],
    });
    render(<KillSwitches />);
    await screen.findByText(/No kill switch is engaged/);
    fireEvent.input(screen.getByLabelText("Reason"), { target: { value: "halt everything" } });
    fireEvent.click(screen.getByRole("button", { name: "Engage" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("which your roles do not grant");
  });

  it("shows a field's message next to the field", async () => {
    stubFetch({
      "GET /api/v1/admin/kill-switches": [() => json(200, [])],
      "POST /api/v1/admin/kill-switches": [
        () =>
          json(422, {
            detail: "reason: String should have at least 1 character",
            code: "validation_error",
            errors: [{ field: "body.reason", message: "String should have at least 1 character" }],
          }),
      ],
    });
    render(<KillSwitches />);
    await screen.findByText(/No kill switch is engaged/);
    fireEvent.click(screen.getByRole("button", { name: "Engage" }));
    expect(await screen.findByText("String should have at least 1 character")).toBeTruthy();
    expect(screen.getByLabelText("Reason").getAttribute("aria-invalid")).toBe("true");
  });

  it("asks before releasing, then posts the switch's scope and target", async () => {
    const calls = stubFetch({
      "GET /api/v1/admin/kill-switches": [() => json(200, [ENGAGED]), () => json(200, [])],
      "POST /api/v1/admin/kill-switches/release": [() => json(200, { switch: null, changed: true, published: false })],
    });
    render(<KillSwitches />);
    fireEvent.click(await screen.findByRole("button", { name: "Release" }));
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Release kill switch" }));
    expect(await screen.findByText(/Risk was NOT told/)).toBeTruthy();
    const release = calls.find((c) => c.method === "POST");
    expect(release?.url).toBe("/api/v1/admin/kill-switches/release");
    expect(release?.body).toEqual({ scope: "venue", target: "binance" });
    await waitFor(() => expect(screen.getByText(/No kill switch is engaged/)).toBeTruthy());
  });
});
