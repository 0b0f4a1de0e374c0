import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Bots, NewBot } from "../src/pages/bots";
import { route } from "../src/lib/router";
import { user } from "../src/lib/session";
import { fakeApi, page } from "./fake_api";

const ACCOUNT = {
  id: "a1",
  venue: "sim",
  label: "Main",
  api_key: "abcd…wxyz",
  valuation_asset: "USDT",
  status: "verified",
  created_at: "2026-12-01T10:00:00Z",
  verified_at: "2026-12-01T10:00:00Z",
};

const BOT = {
  id: "0123456789abcdef",
  account_id: "a1",
  strategy: "dca",
  params: {},
  state: "paused",
  paused_reason: "kill switch: maintenance",
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
};

const DCA = {
  name: "dca",
  params_schema: {
    $ref: "#/$defs/DcaParams",
    $defs: {
      DcaParams: {
        description: "`symbol` to buy.",
        type: "object",
        properties: {
          symbol: { type: "string" },
          quote_amount: { exclusiveMinimum: 0, type: "string", format: "decimal" },
          interval_s: { type: "integer", minimum: 1, default: 86400 },
        },
        required: ["symbol", "quote_amount"],
      },
    },
  },
};

const GRID = {
  name: "grid",
  params_schema: {
    type: "object",
    properties: { symbol: { type: "string" }, spacing: { enum: ["arithmetic", "geometric"], default: "arithmetic" }, buy_initial_inventory: { type: "boolean", default: true } },
    required: ["symbol"],
  },
};

beforeEach(() => {
  user.value = { id: "u1", email: "ada@example.org", roles: ["trader"], created_at: "2026-12-01T00:00:00Z" };
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("Bots", () => {
  it("lists each bot by strategy and short id, with its account and state", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /bots": { status: 200, body: page([BOT]) }, "GET /accounts": { status: 200, body: page([ACCOUNT]) } }));
    render(<Bots />);
    expect(screen.getByRole("link", { name: "New bot" }).getAttribute("href")).toBe("#/bots/new");
    const table = await screen.findByRole("table", { name: "Your bots" });
    expect(within(table).getByRole("link", { name: "dca 01234567" }).getAttribute("href")).toBe("#/bots/0123456789abcdef");
    expect(within(table).getByText("paused").className).toBe("badge paused");
    await within(table).findByText("Main");
  });

  it("explains how to create a bot when there is none", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /bots": { status: 200, body: page([]) }, "GET /accounts": { status: 200, body: page([]) } }));
    render(<Bots />);
    expect((await screen.findByText(/You have no bots yet/)).textContent).toContain("strategy");
  });
});

describe("NewBot", () => {
  function api(createReply: Parameters<typeof fakeApi>[0][string]) {
    const fetch = fakeApi({
      "GET /accounts": { status: 200, body: page([ACCOUNT]) },
      "GET /strategies": { status: 200, body: [DCA, GRID] },
      "POST /bots": createReply,
    });
    vi.stubGlobal("fetch", fetch);
    return fetch;
  }

  it("draws one field per parameter, labelled by name, with defaults", async () => {
    api({ status: 500, body: {} });
    render(<NewBot />);
    await screen.findByLabelText("Strategy");
    expect(screen.getByRole("heading", { level: 1, name: "New bot" })).toBeTruthy();
    expect(screen.getByLabelText("Account")).toBeTruthy();
    expect((screen.getByLabelText("interval_s") as HTMLInputElement).value).toBe("86400");
    expect(screen.getByLabelText("symbol")).toBeTruthy();
    fireEvent.input(screen.getByLabelText("symbol"), { target: { value: "BTC/USDT" } });
    fireEvent.change(screen.getByLabelText("Strategy"), { target: { value: "grid" } });
    expect(screen.queryByLabelText("interval_s")).toBeNull();
    expect((screen.getByLabelText("symbol") as HTMLInputElement).value).toBe("BTC/USDT");
    expect((screen.getByLabelText("buy_initial_inventory") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText("spacing") as HTMLSelectElement).value).toBe("arithmetic");
  });

  it("checks required fields before sending", async () => {
    const fetch = api({ status: 500, body: {} });
    render(<NewBot />);
    await screen.findByLabelText("Strategy");
    fireEvent.click(screen.getByRole("button", { name: "Create bot" }));
    await screen.findByRole("alert");
    expect(screen.getByLabelText("symbol").getAttribute("aria-invalid")).toBe("true");
    expect(fetch.mock.calls.some(([, init]) => init?.method === "POST")).toBe(false);
  });

  it("shows the API's message under the parameter it names, and an unknown field on top", async () => {
    api({
      status: 422,
      body: {
        detail: "params.interval_s: Expected `int` >= 1",
        code: "invalid_request",
        errors: [{ field: "params.interval_s", message: "params.interval_s: Expected `int` >= 1" }],
      },
    });
    render(<NewBot />);
    await screen.findByLabelText("Strategy");
    fireEvent.input(screen.getByLabelText("symbol"), { target: { value: "BTC/USDT" } });
    fireEvent.input(screen.getByLabelText("quote_amount"), { target: { value: "10" } });
    fireEvent.input(screen.getByLabelText("interval_s"), { target: { value: "-1" } });
    fireEvent.click(screen.getByRole("button", { name: "Create bot" }));
    await screen.findByRole("alert");
    const interval = screen.getByLabelText("interval_s");
    await waitFor(() => expect(interval.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById("param-interval_s-error")?.textContent).toBe("Expected `int` >= 1");
    expect(interval.getAttribute("aria-describedby")).toContain("param-interval_s-error");
  });

  it("sends typed params and opens the new bot's page", async () => {
    const fetch = api({ status: 201, body: { ...BOT, id: "newbot1", state: "stopped", paused_reason: null } });
    render(<NewBot />);
    await screen.findByLabelText("Strategy");
    fireEvent.input(screen.getByLabelText("symbol"), { target: { value: "BTC/USDT" } });
    fireEvent.input(screen.getByLabelText("quote_amount"), { target: { value: "10.50" } });
    fireEvent.click(screen.getByRole("button", { name: "Create bot" }));
    await waitFor(() => expect(route.value).toBe("/bots/newbot1"));
    const sent = fetch.mock.calls.find(([, init]) => init?.method === "POST");
    expect(JSON.parse(String(sent?.[1]?.body))).toEqual({
      account_id: "a1",
      strategy: "dca",
      params: { symbol: "BTC/USDT", quote_amount: "10.50", interval_s: 86400 },
    });
  });

  it("sends the user to connect an account first when there is none", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts": { status: 200, body: page([]) }, "GET /strategies": { status: 200, body: [DCA] } }));
    render(<NewBot />);
    expect((await screen.findByRole("link", { name: "connect an exchange account" })).getAttribute("href")).toBe("#/accounts");
  });
});
