import { describe, expect, it } from "vitest";
import { LiveStore, fillFromStream, type PortfolioView } from "../src/lib/live";

function view(account: string, equity: string, asOf: string): PortfolioView {
  return {
    account_id: account, valuation_asset: "USDT", equity, cash: equity, realized_pnl: "0",
    unrealized_pnl: "0", fees: "0", balances: { USDT: equity }, as_of: asOf, source: "live",
  }; // fmt: skip
}

/** A scheduler the test runs by hand: one "frame" per `flush()`. */
function manualFrames() {
  const queued: (() => void)[] = [];
  return {
    schedule: (run: () => void) => void queued.push(run),
    flush: () => queued.splice(0).forEach((run) => run()),
    pending: () => queued.length,
  };
}

describe("LiveStore", () => {
  it("shows REST valuations at once", () => {
    const store = new LiveStore(manualFrames().schedule);
    store.seed([view("a", "100", "2026-12-06T09:00:00Z")]);
    expect(store.portfolio("a").value?.equity).toBe("100");
    expect(store.portfolios.value.get("a")?.equity).toBe("100");
  });

  it("coalesces a burst into one update per account per frame, the newest winning", () => {
    const frames = manualFrames();
    const store = new LiveStore(frames.schedule);
    const a = store.portfolio("a");
    let renders = 0;
    const stop = store.portfolios.subscribe(() => void (renders += 1));
    renders = 0;
    for (let i = 1; i <= 50; i++) store.push(view("a", String(100 + i), `2026-12-06T09:00:${String(i).padStart(2, "0")}Z`));
    store.push(view("b", "7", "2026-12-06T09:00:01Z"));
    expect(a.value).toBeUndefined();
    expect(frames.pending()).toBe(1);
    frames.flush();
    expect(renders).toBe(1);
    expect(a.value?.equity).toBe("150");
    expect(store.portfolios.value.get("b")?.equity).toBe("7");
    stop();
  });

  it("ignores a valuation older than the one shown, from the stream or REST", () => {
    const frames = manualFrames();
    const store = new LiveStore(frames.schedule);
    store.push(view("a", "120", "2026-12-06T09:00:10Z"));
    frames.flush();
    store.push(view("a", "110", "2026-12-06T09:00:05Z"));
    frames.flush();
    store.seed([view("a", "90", "2026-12-06T08:59:00Z")]);
    expect(store.portfolio("a").value?.equity).toBe("120");
    store.push(view("a", "130", "2026-12-06T09:00:11Z"));
    frames.flush();
    expect(store.portfolio("a").value?.equity).toBe("130");
  });

  it("keeps the newer valuation when an older one arrives in the same frame", () => {
    const frames = manualFrames();
    const store = new LiveStore(frames.schedule);
    store.push(view("a", "200", "2026-12-06T09:00:20Z"));
    store.push(view("a", "150", "2026-12-06T09:00:15Z"));
    frames.flush();
    expect(store.portfolio("a").value?.equity).toBe("200");
  });

  it("routes stream messages: portfolio, fills (deduplicated) and activity", () => {
    const frames = manualFrames();
    const store = new LiveStore(frames.schedule);
    store.receive({ type: "portfolio", data: view("a", "5", "2026-12-06T09:00:00Z") });
    frames.flush();
    expect(store.portfolio("a").value?.equity).toBe("5");
    const fill = {
      account_id: "a", trade_id: "t1", client_order_id: "tw-x", venue_order_id: "v1",
      instrument: { venue: "sim", symbol: "BTCUSDT" }, side: "BUY", price: "27000.5",
      quantity: "0.001", fee: "0.027", fee_asset: "USDT", liquidity: "TAKER", ts_ns: 1_765_011_600_000_000_000,
    }; // fmt: skip
    store.receive({ type: "fill", data: fill });
    store.receive({ type: "fill", data: fill });
    store.receive({ type: "order", data: { account_id: "a", type: "order.filled" } });
    expect(store.fills.value).toHaveLength(1);
    expect(store.fills.value[0]).toMatchObject({ symbol: "BTCUSDT", price: "27000.5", executed_at: "2025-12-06T09:00:00.000Z" });
    expect(store.activity.value.get("a")).toBe(3);
    store.receive({ type: "subscribed", accounts: ["a"] });
    expect(store.activity.value.get("a")).toBe(3);
  });

  it("writes a streamed fill the way the API lists fills", () => {
    expect(
      fillFromStream({
        account_id: "a", trade_id: "7", client_order_id: "c", instrument: { venue: "sim", symbol: "ETHUSDT" },
        side: "SELL", price: "1", quantity: "2", fee: "0", fee_asset: "USDT", liquidity: "MAKER", ts_ns: 0,
      }), // fmt: skip
    ).toEqual({
      account_id: "a", trade_id: "7", client_order_id: "c", symbol: "ETHUSDT", side: "SELL", price: "1",
      quantity: "2", fee: "0", fee_asset: "USDT", liquidity: "MAKER", executed_at: "1970-01-01T00:00:00.000Z",
    }); // fmt: skip
  });
});
