/** axe-core on the sign-in, sign-up, accounts and bots pages as rendered (contrast is
 * left to the browser test: happy-dom computes no colours). */

import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import type { VNode } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SignIn, SignUp } from "../src/pages/auth";
import { Accounts } from "../src/pages/accounts";
import { Bots, NewBot } from "../src/pages/bots";
import { user } from "../src/lib/session";
import { fakeApi, page } from "./fake_api";
import { seriousViolations } from "./a11y";

const ACCOUNT = { id: "a1", venue: "sim", label: "Main", api_key: "abcd…wxyz", valuation_asset: "USDT", status: "verified", created_at: "2026-12-01T10:00:00Z", verified_at: null };
const BOT = { id: "0123456789", account_id: "a1", strategy: "dca", params: {}, state: "running", paused_reason: null, created_at: "2026-12-01T10:00:00Z", updated_at: "2026-12-01T10:00:00Z" };
const STRATEGY = {
  name: "grid",
  params_schema: {
    type: "object",
    properties: { symbol: { type: "string" }, spacing: { enum: ["arithmetic", "geometric"] }, buy_initial_inventory: { type: "boolean" }, weights: { type: "object" } },
    required: ["symbol"],
  },
};

const serious = (container: Element): Promise<string[]> => seriousViolations(container, { region: { enabled: false } });

function show(page: VNode) {
  return render(<main>{page}</main>).container;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("accessibility (axe-core)", () => {
  it("finds nothing serious on the pages", async () => {
    user.value = { id: "u1", email: "ada@example.org", roles: ["trader"], created_at: "2026-12-01T00:00:00Z" };
    vi.stubGlobal(
      "fetch",
      fakeApi({
        "GET /accounts": { status: 200, body: page([ACCOUNT]) },
        "GET /venues": { status: 200, body: [{ name: "sim" }] },
        "GET /bots": { status: 200, body: page([BOT]) },
        "GET /strategies": { status: 200, body: [STRATEGY] },
      }),
    );
    let container = show(<SignIn />);
    expect(await serious(container)).toEqual([]);
    cleanup();
    container = show(<SignUp />);
    expect(await serious(container)).toEqual([]);
    cleanup();
    container = show(<Accounts />);
    await screen.findByRole("table", { name: "Your exchange accounts" });
    await screen.findByRole("combobox", { name: "Exchange" });
    expect(await serious(container)).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Remove" }));
    expect(await serious(container)).toEqual([]);
    cleanup();
    container = show(<Bots />);
    await screen.findByRole("table", { name: "Your bots" });
    expect(await serious(container)).toEqual([]);
    cleanup();
    container = show(<NewBot />);
    await screen.findByLabelText("Strategy");
    fireEvent.click(screen.getByRole("button", { name: "Create bot" }));
    await screen.findByRole("alert");
    expect(await serious(container)).toEqual([]);
  });
});
