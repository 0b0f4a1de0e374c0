import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BotDetail } from "../src/pages/bot";
import { live } from "../src/lib/live";
import { user } from "../src/lib/session";
import { streamState } from "../src/lib/stream";
import { seriousViolations } from "./a11y";

const page = (items: unknown[]) => ({ items, limit: 500, offset: 0, next_offset: null });
const order = (id: string, bot: string) => ({
  client_order_id: id, account_id: "acc1", bot_id: bot, venue: "sim", symbol: "BTCUSDT", side: "BUY",
  order_type: "MARKET", time_in_force: "GTC", quantity: "0.001", price: null, state: "FILLED",
  filled_quantity: "0.001", average_price: "27000", reason: "", created_at: "2026-12-06T09:00:00Z",
  updated_at: "2026-12-06T09:00:00Z",
}); // fmt: skip
const fill = (trade: string, orderId: string) => ({
  account_id: "acc1", trade_id: trade, client_order_id: orderId, symbol: "BTCUSDT", side: "BUY",
  price: "27000", quantity: "0.001", fee: "0.027", fee_asset: "USDT", liquidity: "TAKER",
  executed_at: "2026-12-06T09:00:01Z",
}); // fmt: skip

let bot: Record<string, unknown>;
const calls: string[] = [];

beforeEach(() => {
  bot = {
    id: "b1", account_id: "acc1", strategy: "dca", params: { symbol: "BTCUSDT", quote_amount: "10" },
    state: "stopped", paused_reason: null,
    halted_by: { scope: "account", target: "acc1", reason: "exchange incident", engaged_at: "2026-12-06T09:00:00Z" },
    created_at: "2026-12-06T00:00:00Z", updated_at: "2026-12-06T09:00:00Z",
  }; // fmt: skip
  calls.length = 0;
  user.value = { id: "u", email: "t@example.org", roles: ["trader"], created_at: "2026-12-06T00:00:00Z" };
  streamState.value = "live";
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string, init?: RequestInit) => {
      const path = String(input).split("?")[0];
      calls.push(`${init?.method ?? "GET"} ${String(input)}`);
      const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
      if (path === "/api/v1/bots/b1") return json(bot);
      if (path === "/api/v1/bots/b1/start") {
        return json({ detail: "the account is halted by a kill switch", code: "halted", errors: [] }, 409);
      }
      if (path === "/api/v1/orders") return json(page([order("o1", "b1"), order("o2", "other")]));
      if (path === "/api/v1/fills") return json(page([fill("t1", "o1"), fill("t2", "o2")]));
      if (path === "/api/v1/bots/b1/analytics") {
        return json({
          bot_id: "b1", account_id: "acc1", fills: 1, truncated: false, unvalued_fees: {}, resolution: "minute",
          start: "2026-12-05T09:00:00Z", end: "2026-12-06T09:00:00Z", quote: "USDT", pnl: [],
          current_drawdown: null, max_drawdown: null, var_95: null, var_periods: 0,
          by_quote: [{ quote: "USDT", realized_pnl: "-0.027", fees: "0.027", bought: "27", sold: "0", volume: "27",
            trades: 0, win_rate: null, profit_factor: null, average_win: null, average_loss: null, holdings: [] }],
        }); // fmt: skip
      }
      return json({ detail: "Not Found", code: "not_found", errors: [] }, 404);
    }),
  );
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Bot page", () => {
  it("shows the state, the kill switch's reason, the bot's own fills and orders", async () => {
    render(<BotDetail id="b1" />);
    expect(await screen.findByRole("heading", { level: 1, name: "dca bot" })).toBeTruthy();
    expect(screen.getByLabelText("Bot state").textContent).toBe("stopped");
    expect(screen.getByText("Stopped by a kill switch (account acc1): exchange incident").getAttribute("role")).toBe("status");
    const fills = await screen.findByRole("table", { name: "Fills" });
    expect(fills.querySelectorAll("tbody tr")).toHaveLength(1);
    const orders = screen.getByRole("table", { name: "Orders" });
    expect(orders.querySelectorAll("tbody tr")).toHaveLength(1);
    expect(calls.some((c) => c.includes("/orders?account_id=acc1&bot_id=b1"))).toBe(true);
    await screen.findByText(/Candles are not available/);
    expect(screen.getByRole("button", { name: "Stop" })).toHaveProperty("disabled", true);
    expect(screen.getByRole("button", { name: "Pause" })).toHaveProperty("disabled", true);
    expect(await seriousViolations(document.body, { region: { enabled: false } })).toEqual([]);
  });

  it("shows the API's refusal of an action", async () => {
    render(<BotDetail id="b1" />);
    fireEvent.click(await screen.findByRole("button", { name: "Start" }));
    expect((await screen.findByRole("alert")).textContent).toBe("the account is halted by a kill switch");
  });

  it("adds the bot's new fills from the stream", async () => {
    render(<BotDetail id="b1" />);
    const fills = await screen.findByRole("table", { name: "Fills" });
    live.receive({
      type: "fill",
      data: {
        account_id: "acc1", trade_id: "t9", client_order_id: "o1", venue_order_id: "v", side: "BUY",
        instrument: { venue: "sim", symbol: "BTCUSDT" }, price: "27100", quantity: "0.001", fee: "0",
        fee_asset: "USDT", liquidity: "TAKER", ts_ns: Date.parse("2026-12-06T09:05:00Z") * 1e6,
      }, // fmt: skip
    });
    await waitFor(() => expect(fills.querySelectorAll("tbody tr")).toHaveLength(2));
  });

  it("hides the controls from a user who cannot trade", async () => {
    user.value = { id: "u", email: "v@example.org", roles: ["viewer"], created_at: "2026-12-06T00:00:00Z" };
    render(<BotDetail id="b1" />);
    await screen.findByRole("heading", { level: 1, name: "dca bot" });
    expect(screen.queryByRole("button", { name: "Start" })).toBeNull();
  });
});
