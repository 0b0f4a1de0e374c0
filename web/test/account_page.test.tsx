import { cleanup, fireEvent, render, screen, within } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AccountDetail } from "../src/pages/account";
import { Accounts } from "../src/pages/accounts";
import { user } from "../src/lib/session";
import { streamState } from "../src/lib/stream";
import { fakeApi, page, type Reply } from "./fake_api";
import { seriousViolations } from "./a11y";

const account = (id: string, label = "Main") => ({
  id, venue: "sim", label, api_key: "abcd…wxyz", valuation_asset: "USDT", status: "verified",
  created_at: "2026-12-01T10:00:00Z", verified_at: "2026-12-01T10:05:00Z",
}); // fmt: skip

const valuation = (id: string) => ({
  account_id: id, valuation_asset: "USDT", equity: "10250.5", cash: "9000", realized_pnl: "12.5",
  unrealized_pnl: "-3.25", fees: "0.75", balances: { USDT: "9000", BTC: "0.05" }, as_of: "2026-12-06T09:00:00Z",
  source: "live",
}); // fmt: skip

const bot = (id: string, accountId: string, state = "running") => ({
  id, account_id: accountId, strategy: "dca", params: {}, state, paused_reason: null, halted_by: null,
  created_at: "2026-12-01T10:00:00Z", updated_at: "2026-12-06T09:00:00Z",
}); // fmt: skip

const LIMITS = {
  account: { max_drawdown: null, max_var_95: null },
  platform: { max_drawdown: null, max_var_95: null },
  effective: { max_drawdown: null, max_var_95: null },
  halted: null,
};

function routes(id: string, extra: Record<string, Reply> = {}): Record<string, Reply> {
  return {
    [`GET /accounts/${id}`]: { status: 200, body: account(id) },
    [`GET /accounts/${id}/portfolio`]: { status: 200, body: valuation(id) },
    [`GET /accounts/${id}/risk-limits`]: { status: 200, body: LIMITS },
    "GET /bots": { status: 200, body: page([bot("b-mine-0001", id), bot("b-other-0001", "elsewhere")]) },
    ...extra,
  };
}

function signInAs(roles: string[]): void {
  user.value = { id: "u1", email: "ada@example.org", roles, created_at: "2026-12-01T00:00:00Z" };
}

beforeEach(() => {
  signInAs(["trader"]);
  streamState.value = "live";
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("Account page", () => {
  it("shows the account, its valuation, its own bots and its risk limits, and passes axe", async () => {
    vi.stubGlobal("fetch", fakeApi(routes("a1")));
    const { container } = render(<main><AccountDetail id="a1" /></main>);
    expect(await screen.findByRole("heading", { level: 1, name: "Main" })).toBeTruthy();
    expect(screen.getByText("abcd…wxyz")).toBeTruthy();
    expect(screen.getByText("verified")).toBeTruthy();
    expect((await screen.findByLabelText("Equity of Main")).textContent).toBe("10,250.5 USDT");
    expect(screen.getByRole("table", { name: "Balances of Main" }).querySelectorAll("tbody tr")).toHaveLength(2);
    const bots = await screen.findByRole("table", { name: "Bots on Main" });
    const links = within(bots).getAllByRole("link");
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["#/bots/b-mine-0001"]);
    await screen.findByRole("table", { name: "Risk limits in force" });
    expect(screen.getByRole("button", { name: "Verify" })).toBeTruthy();
    const headings = screen.getAllByRole("heading").map((h) => `${h.tagName} ${h.textContent}`);
    expect(headings).toEqual(["H1 Main", "H2 Valuation", "H2 Bots", "H2 Risk limits"]);
    expect(await seriousViolations(container, { region: { enabled: false } })).toEqual([]);
  });

  it("says so when the account has no valuation or no bots yet", async () => {
    vi.stubGlobal(
      "fetch",
      fakeApi(
        routes("a7", {
          "GET /accounts/a7/portfolio": { status: 404, body: { detail: "no valuation of this account yet", code: "not_found", errors: [] } },
          "GET /bots": { status: 200, body: page([]) },
        }),
      ),
    );
    render(<AccountDetail id="a7" />);
    await screen.findByText(/No valuation of this account yet/);
    await screen.findByText(/No bots on this account yet/);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("shows the API's answer for an account that is not the caller's", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts/zz": { status: 404, body: { detail: "exchange account not found", code: "not_found", errors: [] } } }));
    render(<AccountDetail id="zz" />);
    expect((await screen.findByRole("alert")).textContent).toContain("exchange account not found");
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Exchange account");
  });

  it("verifies the key again and says what came of it", async () => {
    const fetch = fakeApi(
      routes("a1", {
        "POST /accounts/a1/verify": {
          status: 200,
          body: { account: account("a1"), check: { can_trade: true, can_withdraw: false, can_transfer: false, ip_restricted: true, refusal: null } },
        },
      }),
    );
    vi.stubGlobal("fetch", fetch);
    render(<AccountDetail id="a1" />);
    fireEvent.click(await screen.findByRole("button", { name: "Verify" }));
    const said = await screen.findByText(/“Main” is verified/);
    expect(said.closest("[role=status]")).toBeTruthy();
  });

  it("removes the account only after the in-page confirmation", async () => {
    const fetch = fakeApi(routes("a1", { "DELETE /accounts/a1": { status: 204 } }));
    vi.stubGlobal("fetch", fetch);
    render(<AccountDetail id="a1" />);
    fireEvent.click(await screen.findByRole("button", { name: "Remove" }));
    const dialog = screen.getByRole("dialog");
    expect(fetch.mock.calls.some(([, init]) => init?.method === "DELETE")).toBe(false);
    fireEvent.click(within(dialog).getByRole("button", { name: "Remove account" }));
    expect((await screen.findByText(/“Main” was removed/)).closest("[role=status]")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Back to your exchange accounts" }).getAttribute("href")).toBe("#/accounts");
  });

  it("shows a viewer the account without Verify, Remove or the limits form", async () => {
    signInAs(["viewer"]);
    vi.stubGlobal("fetch", fakeApi(routes("a1")));
    render(<AccountDetail id="a1" />);
    await screen.findByRole("table", { name: "Risk limits in force" });
    expect(screen.queryByRole("button", { name: "Verify" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Remove" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Save limits" })).toBeNull();
  });

  it("is linked from each row of the accounts page", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts": { status: 200, body: page([account("a1"), account("a2", "")]) } }));
    render(<Accounts />);
    const table = await screen.findByRole("table", { name: "Your exchange accounts" });
    const links = within(table).getAllByRole("link");
    expect(links.map((a) => [a.textContent, a.getAttribute("href")])).toEqual([
      ["Main", "#/accounts/a1"],
      ["sim a2", "#/accounts/a2"],
    ]);
  });
});
