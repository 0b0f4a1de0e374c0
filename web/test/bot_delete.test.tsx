import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BotDetail } from "../src/pages/bot";
import { route } from "../src/lib/router";
import { user } from "../src/lib/session";
import { streamState } from "../src/lib/stream";
import { fakeApi, page, type Reply } from "./fake_api";
import { seriousViolations } from "./a11y";

const BOT = {
  id: "b1", account_id: "a1", strategy: "dca", params: { symbol: "BTCUSDT" }, state: "running",
  paused_reason: null, halted_by: null, created_at: "2026-12-06T00:00:00Z", updated_at: "2026-12-06T09:00:00Z",
}; // fmt: skip

const LIMITS = {
  bot: { max_drawdown: null, max_var_95: null }, platform: { max_drawdown: null, max_var_95: null },
  effective: { max_drawdown: null, max_var_95: null }, paused_reason: null,
}; // fmt: skip

function api(extra: Record<string, Reply> = {}) {
  return fakeApi({
    "GET /bots/b1": { status: 200, body: BOT },
    "GET /orders": { status: 200, body: page([]) },
    "GET /fills": { status: 200, body: page([]) },
    "GET /bots/b1/risk-limits": { status: 200, body: LIMITS },
    "GET /accounts/a1/candles": { status: 200, body: [] },
    ...extra,
  });
}

beforeEach(() => {
  user.value = { id: "u", email: "t@example.org", roles: ["trader"], created_at: "2026-12-06T00:00:00Z" };
  streamState.value = "live";
  route.value = "/bots/b1";
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("Deleting a bot", () => {
  it("asks in the page, deletes, and goes back to the bots", async () => {
    const fetch = api({ "DELETE /bots/b1": { status: 204 } });
    vi.stubGlobal("fetch", fetch);
    render(<BotDetail id="b1" />);
    fireEvent.click(await screen.findByRole("button", { name: "Delete bot" }));
    const dialog = screen.getByRole("dialog");
    expect(dialog.textContent).toContain("stopped first if it runs");
    expect(await seriousViolations(document.body, { region: { enabled: false } })).toEqual([]);
    expect(fetch.mock.calls.some(([, init]) => init?.method === "DELETE")).toBe(false);
    fireEvent.click(within(dialog).getByRole("button", { name: "Delete bot" }));
    await waitFor(() => expect(route.value).toBe("/bots"));
    expect(fetch.mock.calls.filter(([, init]) => init?.method === "DELETE").map(([url]) => url)).toEqual(["/api/v1/bots/b1"]);
  });

  it("changes nothing when the confirmation is cancelled", async () => {
    const fetch = api();
    vi.stubGlobal("fetch", fetch);
    render(<BotDetail id="b1" />);
    fireEvent.click(await screen.findByRole("button", { name: "Delete bot" }));
    fireEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(fetch.mock.calls.some(([, init]) => init?.method === "DELETE")).toBe(false);
    expect(route.value).toBe("/bots/b1");
  });

  it("shows the API's refusal", async () => {
    vi.stubGlobal("fetch", api({ "DELETE /bots/b1": { status: 404, body: { detail: "bot not found", code: "not_found", errors: [] } } }));
    render(<BotDetail id="b1" />);
    fireEvent.click(await screen.findByRole("button", { name: "Delete bot" }));
    fireEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Delete bot" }));
    expect((await screen.findByRole("alert")).textContent).toBe("bot not found");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(route.value).toBe("/bots/b1");
  });

  it("is not offered to a viewer", async () => {
    user.value = { id: "u", email: "v@example.org", roles: ["viewer"], created_at: "2026-12-06T00:00:00Z" };
    vi.stubGlobal("fetch", api());
    render(<BotDetail id="b1" />);
    await screen.findByRole("heading", { level: 1, name: "dca bot" });
    await screen.findByRole("table", { name: "Risk limits in force" });
    expect(screen.queryByRole("button", { name: "Delete bot" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Save limits" })).toBeNull();
  });
});
