import { cleanup, render, screen, waitFor, within } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Portfolio } from "../src/pages/portfolio";
import { live } from "../src/lib/live";
import { streamState } from "../src/lib/stream";
import { seriousViolations } from "./a11y";

const valuation = (equity: string, asOf: string) => ({
  account_id: "acc1", valuation_asset: "USDT", equity, cash: "900.5", realized_pnl: "-1.25",
  unrealized_pnl: "3.5", fees: "0.1", balances: { USDT: "900.5", BTC: "0.001" }, as_of: asOf, source: "live",
}); // fmt: skip

const bodies: Record<string, unknown> = {
  "/api/v1/accounts": { items: [{ id: "acc1", venue: "sim", label: "Main", api_key: "ab…cd", valuation_asset: "USDT", status: "verified", created_at: "2026-12-06T00:00:00Z", verified_at: null }], limit: 500, offset: 0, next_offset: null },
  "/api/v1/portfolio": { items: [valuation("1000.50", "2026-12-06T09:00:00Z")], limit: 500, offset: 0, next_offset: null },
  "/api/v1/accounts/acc1/equity": { items: [{ at: "2026-12-06T08:00:00Z", equity: "990" }, { at: "2026-12-06T08:30:00Z", equity: "995" }], limit: 500, offset: 0, next_offset: null },
  "/api/v1/accounts/acc1/analytics": { account_id: "acc1", valuation_asset: "USDT", resolution: "hour", start: "2026-10-06T00:00:00Z", end: "2026-12-06T09:00:00Z", metrics: { total_return: 0.01, sharpe: null }, equity: [] },
};

beforeEach(() => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string) => {
      const path = String(input).split("?")[0];
      const body = bodies[path];
      return body === undefined
        ? new Response(JSON.stringify({ detail: "not here", code: "not_found", errors: [] }), { status: 404 })
        : new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    }),
  );
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Portfolio page", () => {
  it("shows each account's cards, balances and analytics, and follows the stream", async () => {
    streamState.value = "live";
    render(<Portfolio />);
    expect(screen.getByRole("heading", { level: 1, name: "Portfolio" })).toBeTruthy();
    const equity = await screen.findByLabelText("Equity of Main");
    expect(equity.textContent).toBe("1,000.5 USDT");
    const balances = screen.getByRole("table", { name: "Balances of Main" });
    expect(within(balances).getByText("0.001")).toBeTruthy();
    for (const label of ["Realised PnL", "Unrealised PnL", "Fees", "Cash"]) expect(screen.getByText(label)).toBeTruthy();
    expect(screen.getByText("-1.25").closest(".value")?.className).toContain("down");
    await screen.findByText("Total return");
    expect(await seriousViolations(document.body, { region: { enabled: false } })).toEqual([]);

    live.receive({ type: "portfolio", data: valuation("1010", "2026-12-06T09:00:05Z") });
    await waitFor(() => expect(screen.getByLabelText("Equity of Main").textContent).toBe("1,010 USDT"));
  });

  it("says the numbers may be stale while the stream reconnects", async () => {
    streamState.value = "reconnecting";
    render(<Portfolio />);
    expect(screen.getByText(/may be stale/)).toBeTruthy();
    await screen.findByLabelText("Equity of Main");
  });
});
