import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Operations } from "../src/pages/admin/operations";
import { json, stubGateway, type ApiCall } from "./fake_api";
import { seriousViolations } from "./a11y";

type Call = ApiCall;

const ANALYTICS = { accounts: 0, bots: {}, halted_accounts: 0, halted_by_risk_limits: 0, by_valuation_asset: [] };

/** A fake gateway: the operations page's other sources answer plainly; the platform's
 * performance as `performance` says. */
function stubFetch(performance: (call: Call) => Response): Call[] {
  return stubGateway((call) => {
    if (call.path === "/admin/analytics/performance") return performance(call);
    if (call.path === "/admin/health") return json(200, [{ name: "gateway", status: "ready" }]);
    if (call.path === "/admin/breakers") return json(200, []);
    return json(200, ANALYTICS);
  });
}

const performanceCalls = (calls: Call[]) => calls.filter((c) => c.path === "/admin/analytics/performance");

const violations = (container: Element): Promise<string[]> => seriousViolations(container);

const USDT = {
  valuation_asset: "USDT",
  accounts: 3,
  resolution: "hour",
  start: "2026-10-08T00:00:00Z",
  end: "2026-12-07T00:00:00Z",
  metrics: {
    total_return: 0.0512,
    annual_return: null,
    volatility: 0.2,
    sharpe: 1.234,
    sortino: 2.5,
    calmar: 0.8,
    max_drawdown: -0.1,
    max_drawdown_peak: "2026-11-01T00:00:00+00:00",
    current_drawdown: 0,
    var_95: 0.012,
    cvar_95: 0.02,
    periods: 1440,
    period_s: 3600,
  },
  equity: [
    { at: "2026-12-06T22:00:00Z", equity: "10000.00" },
    { at: "2026-12-06T23:00:00Z", equity: "10512.250000" },
  ],
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("the platform's performance on the operations page", () => {
  it("shows each valuation asset's figures and equity line", async () => {
    const calls = stubFetch(() => json(200, [USDT, { ...USDT, valuation_asset: "EUR", accounts: 1, metrics: {}, equity: [] }]));
    const { container } = render(<Operations />);
    expect(screen.getByRole("heading", { level: 2, name: "Platform performance" })).toBeTruthy();
    const usdt = (await screen.findByRole("heading", { level: 3, name: "In USDT" })).closest("section")!;
    const text = usdt.textContent ?? "";
    expect(text).toContain("3 accounts, returns per hour, from 2026-10-08 00:00:00 UTC to 2026-12-07 00:00:00 UTC");
    expect(text).toContain("10,512.25 USDT");
    expect(text).toContain("5.12 %"); // total return
    expect(text).toContain("1.23"); // Sharpe
    expect(text).toContain("-10.00 %"); // maximum drawdown
    expect(text).not.toContain("Annualised return"); // null: left out
    expect(within(usdt).getByRole("img", { name: "Platform equity in USDT" })).toBeTruthy();

    const eur = screen.getByRole("heading", { level: 3, name: "In EUR" }).closest("section")!;
    expect(eur.textContent).toContain("No figures yet");
    expect(eur.textContent).toContain("Not enough valuations in this window for an equity line");

    expect(performanceCalls(calls)[0].query.get("resolution")).toBe("hour");
    expect(performanceCalls(calls)[0].query.has("from")).toBe(false);
    expect(await violations(container)).toEqual([]);
  });

  it("says when no valuation is recorded yet", async () => {
    stubFetch(() => json(200, []));
    render(<Operations />);
    expect(await screen.findByText(/No valuation recorded yet/)).toBeTruthy();
  });

  it("asks again at once when the resolution changes", async () => {
    const calls = stubFetch(() => json(200, [USDT]));
    render(<Operations />);
    await screen.findByRole("heading", { level: 3, name: "In USDT" });
    fireEvent.change(screen.getByLabelText("Resolution"), { target: { value: "day" } });
    await waitFor(() => expect(performanceCalls(calls).some((c) => c.query.get("resolution") === "day")).toBe(true));
  });

  it("sends the window and valuation asset typed, and checks the window first", async () => {
    const calls = stubFetch(() => json(200, []));
    render(<Operations />);
    await screen.findByText(/No valuation recorded yet/);
    fireEvent.input(screen.getByLabelText("From (UTC)"), { target: { value: "2026-12-02T00:00" } });
    fireEvent.input(screen.getByLabelText("To (UTC)"), { target: { value: "2026-12-01T00:00" } });
    fireEvent.click(screen.getByRole("button", { name: "Show performance" }));
    expect((await screen.findByRole("alert")).textContent).toContain("The start must be before the end.");
    expect(performanceCalls(calls)).toHaveLength(1);

    fireEvent.input(screen.getByLabelText("To (UTC)"), { target: { value: "2026-12-03T00:00" } });
    fireEvent.input(screen.getByLabelText("Valuation asset"), { target: { value: "USDT" } });
    fireEvent.click(screen.getByRole("button", { name: "Show performance" }));
    await waitFor(() => expect(performanceCalls(calls)).toHaveLength(2));
    const query = performanceCalls(calls)[1].query;
    expect(query.get("from")).toBe("2026-12-02T00:00");
    expect(query.get("to")).toBe("2026-12-03T00:00");
    expect(query.get("valuation_asset")).toBe("USDT");
    expect(await screen.findByText(/No valuation recorded in this window/)).toBeTruthy();
  });

  it("shows the API's refusal of a window", async () => {
    stubFetch(() => json(422, { detail: "`to` is too early", code: "invalid_window", errors: [{ field: "to", message: "`to` is too early" }] }));
    render(<Operations />);
    expect((await screen.findByRole("alert")).textContent).toContain("`to` is too early");
  });
});
