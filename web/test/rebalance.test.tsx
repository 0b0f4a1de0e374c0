import { cleanup, render, screen, within } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NextRebalance, noPlanSentence } from "../src/pages/rebalance";
import { BotDetail } from "../src/pages/bot";
import { user } from "../src/lib/session";
import { streamState } from "../src/lib/stream";
import { fakeApi, page } from "./fake_api";
import { seriousViolations } from "./a11y";

const PLAN = {
  bot_id: "b1", account_id: "a1", quote: "USDT",
  orders: [
    { side: "SELL", symbol: "BTCUSDT", quantity: "0.01000", value: "270.5" },
    { side: "BUY", symbol: "ETHUSDT", quantity: "0.15", value: "270.1" },
  ],
  equity: "10000", traded: "540.6", traded_fraction: 0.05406, fee_rate: "0.001", fee_rate_source: "venue",
  fees: "0.5406", rounded: true,
  weights: [
    { asset: "BTC", before: 0.55, after: 0.5 },
    { asset: "ETH", before: 0.45, after: 0.5 },
  ],
  before: { concentration: 0.52, largest_weight: 0.55 },
  after: { concentration: 0.5, largest_weight: 0.5 },
  balances_as_of: "2026-12-06T09:00:00Z", prices_as_of: "2026-12-06T09:00:01Z",
  notes: ["taker fee assumed 0.1%: the venue lists none"],
}; // fmt: skip

const refusal = (status: number, detail: string) => ({ status, body: { detail, code: "not_plannable", errors: [] } });

const bot = (strategy: string) => ({
  id: "b1", account_id: "a1", strategy, params: { basket: ["BTCUSDT", "ETHUSDT"] }, state: "stopped",
  paused_reason: null, halted_by: null, created_at: "2026-12-06T00:00:00Z", updated_at: "2026-12-06T09:00:00Z",
}); // fmt: skip

beforeEach(() => {
  user.value = { id: "u", email: "t@example.org", roles: ["trader"], created_at: "2026-12-06T00:00:00Z" };
  streamState.value = "live";
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("Next rebalance", () => {
  it("lists the orders it would place and the risk before and after, and passes axe", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /bots/b1/next-rebalance": { status: 200, body: PLAN } }));
    const { container } = render(<NextRebalance botId="b1" />);
    expect(screen.getByRole("heading", { level: 2, name: "Next rebalance" })).toBeTruthy();
    const orders = await screen.findByRole("table", { name: "Orders the next rebalance would place" });
    const rows = within(orders).getAllByRole("row").slice(1).map((r) => Array.from((r as HTMLTableRowElement).cells).map((c) => c.textContent));
    expect(rows).toEqual([
      ["SELL", "BTCUSDT", "0.01", "270.5"],
      ["BUY", "ETHUSDT", "0.15", "270.1"],
    ]);
    expect(screen.getByText("540.6 USDT (5.41 % of equity)")).toBeTruthy();
    expect(screen.getByText(/0\.5406 USDT at 0\.1 %/)).toBeTruthy();
    expect(screen.getByText("55.00 % → 50.00 %")).toBeTruthy();
    expect(screen.getByText("0.52 → 0.50")).toBeTruthy();
    expect(screen.getByRole("table", { name: "Weights before and after the next rebalance" }).querySelectorAll("tbody tr")).toHaveLength(2);
    expect(screen.getByText("taker fee assumed 0.1%: the venue lists none")).toBeTruthy();
    expect(await seriousViolations(container, { region: { enabled: false } })).toEqual([]);
  });

  it.each([
    [409, "no last price yet for BTCUSDT on sim; marketdata records one with the symbol's first trade"],
    [404, "bot not found"],
    [422, "bot_id: String should match pattern"],
  ])("shows a %i answer's detail as a sentence", async (status, detail) => {
    vi.stubGlobal("fetch", fakeApi({ "GET /bots/b1/next-rebalance": refusal(status, detail) }));
    render(<NextRebalance botId="b1" />);
    await screen.findByText(`The next rebalance cannot be planned now: ${detail}.`);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("shows any other failure as an error with a retry", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /bots/b1/next-rebalance": refusal(503, "the cache is not answering") }));
    render(<NextRebalance botId="b1" />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("the cache is not answering");
    expect(within(alert).getByRole("button", { name: "Try again" })).toBeTruthy();
  });

  it("ends the API's detail as a sentence once", () => {
    expect(noPlanSentence("the account is not halted")).toBe("The next rebalance cannot be planned now: the account is not halted.");
    expect(noPlanSentence("recreate the bot.")).toBe("The next rebalance cannot be planned now: recreate the bot.");
  });
});

describe("The bot page", () => {
  const bare = (strategy: string) =>
    fakeApi({
      "GET /bots/b1": { status: 200, body: bot(strategy) },
      "GET /orders": { status: 200, body: page([]) },
      "GET /fills": { status: 200, body: page([]) },
      "GET /bots/b1/next-rebalance": { status: 200, body: PLAN },
      "GET /bots/b1/risk-limits": {
        status: 200,
        body: { bot: { max_drawdown: null, max_var_95: null }, platform: { max_drawdown: null, max_var_95: null }, effective: { max_drawdown: null, max_var_95: null }, paused_reason: null },
      },
    });

  it("shows the next rebalance of a rebalance bot, and its risk limits", async () => {
    vi.stubGlobal("fetch", bare("rebalance"));
    render(<BotDetail id="b1" />);
    expect(await screen.findByRole("heading", { level: 1, name: "rebalance bot" })).toBeTruthy();
    await screen.findByRole("table", { name: "Orders the next rebalance would place" });
    expect(screen.getByRole("heading", { level: 2, name: "Risk limits" })).toBeTruthy();
  });

  it("has no next rebalance for another strategy", async () => {
    const fetch = bare("dca");
    vi.stubGlobal("fetch", fetch);
    render(<BotDetail id="b1" />);
    await screen.findByRole("heading", { level: 1, name: "dca bot" });
    await screen.findByRole("table", { name: "Risk limits in force" });
    expect(screen.queryByRole("heading", { name: "Next rebalance" })).toBeNull();
    expect(fetch.mock.calls.some(([url]) => String(url).includes("next-rebalance"))).toBe(false);
  });
});
