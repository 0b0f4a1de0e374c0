import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Fills, Orders } from "../src/pages/history";
import { seriousViolations } from "./a11y";

const requested: string[] = [];
const fill = (trade: string, account: string, side: string) => ({
  account_id: account, trade_id: trade, client_order_id: `tw-${trade}`, symbol: "BTCUSDT", side, price: "27000.50",
  quantity: "0.001", fee: "0.027", fee_asset: "USDT", liquidity: "TAKER", executed_at: "2026-12-06T09:00:01Z",
}); // fmt: skip

beforeEach(() => {
  requested.length = 0;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string) => {
      const url = new URL(String(input), "http://x");
      requested.push(`${url.pathname}${url.search}`);
      const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
      if (url.pathname === "/api/v1/accounts") {
        return json({ items: [{ id: "acc1", venue: "sim", label: "Main", api_key: "k", valuation_asset: "USDT", status: "verified", created_at: "2026-12-06T00:00:00Z", verified_at: null }], limit: 500, offset: 0, next_offset: null });
      }
      if (url.pathname === "/api/v1/fills") {
        const offset = Number(url.searchParams.get("offset") ?? 0);
        return json({
          items: offset === 0 ? [fill("1", "acc1", "BUY"), fill("2", "acc1", "SELL")] : [fill("3", "acc1", "BUY")],
          limit: Number(url.searchParams.get("limit")), offset, next_offset: offset === 0 ? 50 : null,
        }); // fmt: skip
      }
      if (url.pathname === "/api/v1/orders") return json({ items: [], limit: 50, offset: 0, next_offset: null });
      return new Response(JSON.stringify({ detail: "Not Found", code: "not_found", errors: [] }), { status: 404 });
    }),
  );
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Fills page", () => {
  it("lists a page, moves to the next, and filters through the API's parameters", async () => {
    render(<Fills />);
    expect(screen.getByRole("heading", { level: 1, name: "Fills" })).toBeTruthy();
    const table = await screen.findByRole("table", { name: "Fills" });
    await waitFor(() => expect(table.querySelectorAll("tbody tr")).toHaveLength(2));
    expect(screen.getByText("Showing 1–2")).toBeTruthy();
    expect(await seriousViolations(document.body, { region: { enabled: false } })).toEqual([]);

    fireEvent.click(screen.getByRole("button", { name: "Next page" }));
    await screen.findByText("Showing 51–51");

    await screen.findByRole("option", { name: "Main" });
    fireEvent.change(screen.getByLabelText("Account"), { target: { value: "acc1" } });
    fireEvent.change(screen.getByLabelText("Side"), { target: { value: "SELL" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply filters" }));
    await waitFor(() => expect(requested.at(-1)).toBe("/api/v1/fills?account_id=acc1&side=SELL&limit=50&offset=0"));
    await waitFor(() => expect(screen.getByRole("table", { name: "Fills" }).querySelectorAll("tbody tr")).toHaveLength(1));
  });
});

describe("Orders page", () => {
  it("says when no order matches and offers the state filter", async () => {
    render(<Orders />);
    expect(screen.getByRole("heading", { level: 1, name: "Orders" })).toBeTruthy();
    await screen.findByText("No orders match these filters.");
    expect(screen.getByLabelText("State")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Export CSV" })).toBeTruthy();
  });
});
