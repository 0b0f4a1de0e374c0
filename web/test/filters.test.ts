import { describe, expect, it } from "vitest";
import { NO_FILTER, fillMatches, filterQuery, narrowsPages, orderMatches } from "../src/lib/filters";
import type { FillView } from "../src/lib/live";
import type { OrderView } from "../src/lib/views";

const fill = (over: Partial<FillView> = {}): FillView => ({
  account_id: "a", trade_id: "1", client_order_id: "c", symbol: "BTCUSDT", side: "BUY", price: "1",
  quantity: "1", fee: "0", fee_asset: "USDT", liquidity: "TAKER", executed_at: "2026-12-06T12:00:00Z", ...over,
}); // fmt: skip

describe("history filters", () => {
  it("matches everything without a filter", () => {
    expect(fillMatches(NO_FILTER, fill())).toBe(true);
    expect(narrowsPages(NO_FILTER, "fills")).toBe(false);
  });

  it("filters by account, symbol (ignoring separators and case), side and state", () => {
    expect(fillMatches({ ...NO_FILTER, account_id: "b" }, fill())).toBe(false);
    expect(fillMatches({ ...NO_FILTER, symbol: "btc/usdt" }, fill())).toBe(true);
    expect(fillMatches({ ...NO_FILTER, symbol: "ETH" }, fill())).toBe(false);
    expect(fillMatches({ ...NO_FILTER, side: "SELL" }, fill())).toBe(false);
    const order = { ...fill(), state: "FILLED", created_at: "2026-12-06T12:00:00Z" } as unknown as OrderView;
    expect(orderMatches({ ...NO_FILTER, state: "FILLED" }, order)).toBe(true);
    expect(orderMatches({ ...NO_FILTER, state: "CANCELED" }, order)).toBe(false);
  });

  it("takes a date range inclusive of both days", () => {
    const noon = new Date(2026, 11, 6, 12).toISOString();
    expect(fillMatches({ ...NO_FILTER, from: "2026-12-06", to: "2026-12-06" }, fill({ executed_at: noon }))).toBe(true);
    expect(fillMatches({ ...NO_FILTER, from: "2026-12-07" }, fill({ executed_at: noon }))).toBe(false);
    expect(fillMatches({ ...NO_FILTER, to: "2026-12-05" }, fill({ executed_at: noon }))).toBe(false);
  });

  it("sends the filters the API takes as query parameters", () => {
    const query = filterQuery({ ...NO_FILTER, account_id: "a", symbol: " btc/usdt ", state: "FILLED" }, "fills");
    expect(query).toMatchObject({ account_id: "a", symbol: "BTC/USDT", state: "", since: "", until: "" });
    const orders = filterQuery({ ...NO_FILTER, from: "2026-12-06", to: "2026-12-06", state: "FILLED" }, "orders");
    expect(orders.since).toBe(new Date(2026, 11, 6).toISOString());
    expect(orders.until).toBe(new Date(2026, 11, 7).toISOString());
    expect(orders.state).toBe("FILLED");
    expect(narrowsPages({ ...NO_FILTER, symbol: "btc/usdt" }, "orders")).toBe(false);
  });

  it("filters by a symbol without its slash on the page, not in the API", () => {
    expect(filterQuery({ ...NO_FILTER, symbol: "btcusdt" }, "fills").symbol).toBe("");
    expect(narrowsPages({ ...NO_FILTER, symbol: "btcusdt" }, "fills")).toBe(true);
  });
});
