import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AccountRiskLimits, BotRiskLimits } from "../src/components/risk_limits";
import { fractionToPercent, inForceText, percentToFraction, shiftPoint } from "../src/lib/limits";
import { user } from "../src/lib/session";
import { fakeApi } from "./fake_api";
import { seriousViolations } from "./a11y";

const DRAWDOWN = "Maximum drawdown (%)";
const VAR = "Maximum 1-minute VaR 95 % (%)";

const halt = (actor: string) => ({
  scope: "account", target: "a1", reason: "drawdown 12.3 % beyond the limit of 10 %", actor_id: actor,
  engaged_at: "2026-12-06T09:00:00Z",
}); // fmt: skip

const accountView = (halted: ReturnType<typeof halt> | null) => ({
  account: { max_drawdown: "0.1", max_var_95: null },
  platform: { max_drawdown: "0.25", max_var_95: "0.05" },
  effective: { max_drawdown: { value: "0.1", set_by: "account" }, max_var_95: { value: "0.05", set_by: "platform" } },
  halted,
});

function signInAs(roles: string[]): void {
  user.value = { id: "u1", email: "ada@example.org", roles, created_at: "2026-12-01T00:00:00Z" };
}

const serious = (container: Element): Promise<string[]> => seriousViolations(container, { region: { enabled: false } });

const sentBody = (fetch: ReturnType<typeof fakeApi>, method: string) =>
  fetch.mock.calls.filter(([, init]) => init?.method === method).map(([, init]) => JSON.parse(String(init?.body ?? "null")));

beforeEach(() => signInAs(["trader"]));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("percent ↔ fraction, on the digits", () => {
  it("moves the decimal point without a float", () => {
    expect(shiftPoint("12.5", -2)).toBe("0.125");
    expect(shiftPoint("5", -2)).toBe("0.05");
    expect(shiftPoint(".5", -2)).toBe("0.005");
    expect(shiftPoint("125", -2)).toBe("1.25");
    expect(shiftPoint("0.1", 2)).toBe("10");
    expect(shiftPoint("0.125", 2)).toBe("12.5");
    expect(shiftPoint("0.1000", 2)).toBe("10");
    expect(() => shiftPoint("1e-3", 2)).toThrow();
  });

  it("reads what a user types as the API's fraction", () => {
    expect(percentToFraction("12.5")).toEqual({ ok: true, fraction: "0.125" });
    expect(percentToFraction("10")).toEqual({ ok: true, fraction: "0.1" });
    expect(percentToFraction(" 0.5 % ")).toEqual({ ok: true, fraction: "0.005" });
    expect(percentToFraction("12,5")).toEqual({ ok: true, fraction: "0.125" });
    // A float would round this to 0.3: the digits are kept as typed.
    expect(percentToFraction("30.000000000000001")).toEqual({ ok: true, fraction: "0.30000000000000001" });
    expect(percentToFraction("")).toEqual({ ok: true, fraction: null });
    expect(percentToFraction("   ")).toEqual({ ok: true, fraction: null });
    for (const wrong of ["abc", "-5", "1e1", "."]) expect(percentToFraction(wrong).ok).toBe(false);
    expect(percentToFraction("0")).toMatchObject({ ok: false, error: expect.stringContaining("above 0") });
    expect(percentToFraction("100")).toMatchObject({ ok: false, error: expect.stringContaining("below 100") });
  });

  it("shows the API's fractions as percentages and says whose limit applies", () => {
    expect(fractionToPercent("0.125")).toBe("12.5");
    expect(fractionToPercent(null)).toBe("");
    expect(inForceText({ value: "0.05", set_by: "platform" })).toBe("5 % (the platform's ceiling)");
    expect(inForceText({ value: "0.1", set_by: "account" })).toBe("10 % (set for this account)");
    expect(inForceText(null)).toBe("no limit");
  });
});

describe("An account's risk limits", () => {
  it("shows the limits in force, the halt and its reason, and passes axe", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts/a1/risk-limits": { status: 200, body: accountView(halt("risk-limits")) } }));
    const { container } = render(<AccountRiskLimits accountId="a1" />);
    expect(screen.getByRole("heading", { level: 2, name: "Risk limits" })).toBeTruthy();
    const table = await screen.findByRole("table", { name: "Risk limits in force" });
    const rows = within(table).getAllByRole("row").map((r) => r.textContent);
    expect(rows[1]).toBe("Maximum drawdown10 %25 %10 % (set for this account)");
    expect(rows[2]).toBe("Maximum 1-minute VaR 95 %no limit5 %5 % (the platform's ceiling)");
    const notice = screen.getByText(/Trading on this account is halted by its risk limits/);
    expect(notice.closest("[role=status]")?.textContent).toContain("drawdown 12.3 % beyond the limit of 10 %");
    expect((screen.getByLabelText(DRAWDOWN) as HTMLInputElement).value).toBe("10");
    expect((screen.getByLabelText(VAR) as HTMLInputElement).value).toBe("");
    expect(screen.getByRole("button", { name: "Resume trading" })).toBeTruthy();
    expect(await serious(container)).toEqual([]);
  });

  it("sends the typed percentages as decimal-string fractions", async () => {
    const fetch = fakeApi({
      "GET /accounts/a1/risk-limits": { status: 200, body: accountView(null) },
      "PUT /accounts/a1/risk-limits": (init) => {
        const body = JSON.parse(String(init?.body));
        return {
          status: 200,
          body: { ...accountView(null), account: body, effective: { max_drawdown: { value: body.max_drawdown, set_by: "account" }, max_var_95: { value: "0.05", set_by: "platform" } } },
        };
      },
    });
    vi.stubGlobal("fetch", fetch);
    render(<AccountRiskLimits accountId="a1" />);
    fireEvent.input(await screen.findByLabelText(DRAWDOWN), { target: { value: "12.5" } });
    fireEvent.input(screen.getByLabelText(VAR), { target: { value: "" } });
    fireEvent.click(screen.getByRole("button", { name: "Save limits" }));
    await screen.findByText(/^Saved: maximum drawdown 12.5 %/);
    expect(sentBody(fetch, "PUT")).toEqual([{ max_drawdown: "0.125", max_var_95: null }]);
    expect(screen.getByRole("table", { name: "Risk limits in force" }).textContent).toContain("12.5 % (set for this account)");
  });

  it("refuses what is not a percentage without asking the API", async () => {
    const fetch = fakeApi({ "GET /accounts/a1/risk-limits": { status: 200, body: accountView(null) } });
    vi.stubGlobal("fetch", fetch);
    render(<AccountRiskLimits accountId="a1" />);
    fireEvent.input(await screen.findByLabelText(DRAWDOWN), { target: { value: "ten" } });
    fireEvent.click(screen.getByRole("button", { name: "Save limits" }));
    const input = screen.getByLabelText(DRAWDOWN);
    await waitFor(() => expect(input.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById(input.getAttribute("aria-describedby")!.split(" ")[1])?.textContent).toContain("Enter a percentage");
    expect(sentBody(fetch, "PUT")).toEqual([]);
  });

  it("puts the API's 422 messages under their fields", async () => {
    vi.stubGlobal(
      "fetch",
      fakeApi({
        "GET /accounts/a1/risk-limits": { status: 200, body: accountView(null) },
        "PUT /accounts/a1/risk-limits": {
          status: 422,
          body: { detail: "body.max_var_95: Input should be less than 1", code: "validation_error", errors: [{ field: "body.max_var_95", message: "Input should be less than 1" }] },
        },
      }),
    );
    render(<AccountRiskLimits accountId="a1" />);
    fireEvent.input(await screen.findByLabelText(VAR), { target: { value: "5" } });
    fireEvent.click(screen.getByRole("button", { name: "Save limits" }));
    expect((await screen.findByRole("alert")).textContent).toContain("see the messages under the fields");
    const input = screen.getByLabelText(VAR);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.parentElement?.querySelector(".field-error")?.textContent).toBe("Input should be less than 1");
  });

  it("resumes trading after a halt its limits caused", async () => {
    const fetch = fakeApi({
      "GET /accounts/a1/risk-limits": { status: 200, body: accountView(halt("risk-limits")) },
      "POST /accounts/a1/risk-limits/resume": { status: 200, body: accountView(null) },
    });
    vi.stubGlobal("fetch", fetch);
    render(<AccountRiskLimits accountId="a1" />);
    fireEvent.click(await screen.findByRole("button", { name: "Resume trading" }));
    await screen.findByText("Trading on the account is resumed.");
    expect(screen.queryByText(/Trading on this account is halted/)).toBeNull();
    expect(screen.queryByRole("button", { name: "Resume trading" })).toBeNull();
  });

  it("shows the API's refusal to resume", async () => {
    vi.stubGlobal(
      "fetch",
      fakeApi({
        "GET /accounts/a1/risk-limits": { status: 200, body: accountView(halt("risk-limits")) },
        "POST /accounts/a1/risk-limits/resume": { status: 409, body: { detail: "the account is not halted", code: "not_halted", errors: [] } },
      }),
    );
    render(<AccountRiskLimits accountId="a1" />);
    fireEvent.click(await screen.findByRole("button", { name: "Resume trading" }));
    expect((await screen.findByRole("alert")).textContent).toBe("the account is not halted");
  });

  it("offers no resume when an operator halted the account", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts/a1/risk-limits": { status: 200, body: accountView(halt("u-operator")) } }));
    render(<AccountRiskLimits accountId="a1" />);
    await screen.findByText(/halted by an operator's kill switch/);
    expect(screen.getByText("Only an operator can release it.")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Resume trading" })).toBeNull();
  });

  it("shows a viewer the values without the form", async () => {
    signInAs(["viewer"]);
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts/a1/risk-limits": { status: 200, body: accountView(halt("risk-limits")) } }));
    render(<AccountRiskLimits accountId="a1" />);
    await screen.findByRole("table", { name: "Risk limits in force" });
    expect(screen.queryByLabelText(DRAWDOWN)).toBeNull();
    expect(screen.queryByRole("button", { name: "Save limits" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Resume trading" })).toBeNull();
    expect(screen.getByText(/halted by its risk limits/)).toBeTruthy();
  });

  it("shows an error it cannot read", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts/a1/risk-limits": { status: 503, body: { detail: "the database is not answering", code: "unavailable", errors: [] } } }));
    render(<AccountRiskLimits accountId="a1" />);
    expect((await screen.findByRole("alert")).textContent).toContain("the database is not answering");
  });
});

describe("A bot's risk limits", () => {
  const botView = (paused: string | null) => ({
    bot: { max_drawdown: null, max_var_95: "0.02" },
    platform: { max_drawdown: null, max_var_95: null },
    effective: { max_drawdown: null, max_var_95: { value: "0.02", set_by: "bot" } },
    paused_reason: paused,
  });

  it("shows why its limits paused it, saves new ones, and passes axe", async () => {
    const fetch = fakeApi({
      "GET /bots/b1/risk-limits": { status: 200, body: botView("VaR 2.4 % beyond the limit of 2 %") },
      "PUT /bots/b1/risk-limits": { status: 200, body: botView(null) },
    });
    vi.stubGlobal("fetch", fetch);
    const { container } = render(<BotRiskLimits botId="b1" />);
    await screen.findByText("A limit in force paused this bot: VaR 2.4 % beyond the limit of 2 %");
    expect(screen.getByRole("table", { name: "Risk limits in force" }).textContent).toContain("2 % (set for this bot)");
    expect((screen.getByLabelText(VAR) as HTMLInputElement).value).toBe("2");
    expect(await serious(container)).toEqual([]);
    fireEvent.input(screen.getByLabelText(DRAWDOWN), { target: { value: "7.25" } });
    fireEvent.click(screen.getByRole("button", { name: "Save limits" }));
    await screen.findByText(/^Saved:/);
    expect(sentBody(fetch, "PUT")).toEqual([{ max_drawdown: "0.0725", max_var_95: "0.02" }]);
  });

  it("does not repeat the pause reason the page shows above", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /bots/b1/risk-limits": { status: 200, body: botView("drawdown 5 %") } }));
    render(<BotRiskLimits botId="b1" shownAbove="drawdown 5 %" />);
    await screen.findByText(/the reason is shown above/);
    expect(screen.queryByText(/drawdown 5 %/)).toBeNull();
  });
});
