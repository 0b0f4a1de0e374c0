import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Accounts } from "../src/pages/accounts";
import { user } from "../src/lib/session";
import { fakeApi, page } from "./fake_api";

const MAIN = {
  id: "a1",
  venue: "sim",
  label: "Main",
  api_key: "abcd…wxyz",
  valuation_asset: "USDT",
  status: "verified",
  created_at: "2026-12-01T10:00:00Z",
  verified_at: "2026-12-01T10:00:00Z",
};

function signInAs(roles: string[]): void {
  user.value = { id: "u1", email: "ada@example.org", roles, created_at: "2026-12-01T00:00:00Z" };
}

function fillConnect(): void {
  fireEvent.input(screen.getByLabelText("API key"), { target: { value: "key-1" } });
  fireEvent.input(screen.getByLabelText("API secret"), { target: { value: "secret-1" } });
  fireEvent.input(screen.getByLabelText("Label"), { target: { value: "Second" } });
}

beforeEach(() => signInAs(["trader"]));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("Accounts", () => {
  it("lists the accounts with the masked key, and offers the venues the API names", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts": { status: 200, body: page([MAIN]) }, "GET /venues": { status: 200, body: [{ name: "sim", kind: "simulated", adapter: null }, { name: "binance", kind: "exchange", adapter: "binance" }] } }));
    render(<Accounts />);
    expect(screen.getByRole("heading", { level: 1, name: "Exchange accounts" })).toBeTruthy();
    const table = await screen.findByRole("table", { name: "Your exchange accounts" });
    expect(within(table).getByText("abcd…wxyz")).toBeTruthy();
    expect(within(table).getByRole("button", { name: "Verify" })).toBeTruthy();
    const exchange = await screen.findByRole("combobox", { name: "Exchange" });
    await waitFor(() => expect((exchange as HTMLSelectElement).disabled).toBe(false));
    expect(within(exchange).getAllByRole("option").map((o) => o.textContent)).toEqual(["sim (simulated)", "binance"]);
  });

  it("falls back to a text input for the exchange when the venues cannot be read", async () => {
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts": { status: 200, body: page([]) } }));
    render(<Accounts />);
    await screen.findByText(/no exchange accounts yet/);
    const exchange = screen.getByLabelText("Exchange");
    expect(exchange.tagName).toBe("INPUT");
  });

  it("explains a refused key that can withdraw, and clears the secret", async () => {
    const fetch = fakeApi({
      "GET /accounts": { status: 200, body: page([]) },
      "GET /venues": { status: 200, body: [{ name: "sim" }] },
      "POST /accounts": {
        status: 422,
        body: {
          detail: "api_key: this API key can withdraw funds; create a key with withdrawals disabled",
          code: "key_refused",
          errors: [{ field: "body.api_key", message: "api_key: this API key can withdraw funds; create a key with withdrawals disabled" }],
        },
      },
    });
    vi.stubGlobal("fetch", fetch);
    render(<Accounts />);
    await waitFor(() => expect((screen.getByLabelText("Exchange") as HTMLSelectElement).disabled).toBe(false));
    fillConnect();
    fireEvent.click(screen.getByRole("button", { name: "Connect" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("can withdraw funds");
    expect(alert.textContent).toContain("withdrawals and transfers disabled");
    expect(screen.getByLabelText("API key").getAttribute("aria-invalid")).toBe("true");
    expect((screen.getByLabelText("API secret") as HTMLInputElement).value).toBe("");
    const sent = fetch.mock.calls.find(([url, init]) => String(url).endsWith("/accounts") && init?.method === "POST");
    expect(JSON.parse(String(sent?.[1]?.body))).toEqual({ venue: "sim", api_key: "key-1", api_secret: "secret-1", label: "Second", valuation_asset: "USDT" });
  });

  it("connects an account and lists it", async () => {
    let listed = [MAIN];
    vi.stubGlobal(
      "fetch",
      fakeApi({
        "GET /accounts": () => ({ status: 200, body: page(listed) }),
        "GET /venues": { status: 200, body: [{ name: "sim" }] },
        "POST /accounts": () => {
          const second = { ...MAIN, id: "a2", label: "Second" };
          listed = [MAIN, second];
          return { status: 201, body: second };
        },
      }),
    );
    render(<Accounts />);
    await waitFor(() => expect((screen.getByLabelText("Exchange") as HTMLSelectElement).disabled).toBe(false));
    fillConnect();
    fireEvent.click(screen.getByRole("button", { name: "Connect" }));
    expect((await screen.findByText(/“Second” is connected/)).closest("[role=status]")).toBeTruthy();
    await waitFor(() => expect(screen.getAllByRole("button", { name: "Verify" })).toHaveLength(2));
    expect((screen.getByLabelText("API secret") as HTMLInputElement).value).toBe("");
  });

  it("removes an account only after the in-page confirmation", async () => {
    let listed = [MAIN];
    const fetch = fakeApi({
      "GET /accounts": () => ({ status: 200, body: page(listed) }),
      "GET /venues": { status: 200, body: [{ name: "sim" }] },
      "DELETE /accounts/a1": () => {
        listed = [];
        return { status: 204 };
      },
    });
    vi.stubGlobal("fetch", fetch);
    render(<Accounts />);
    fireEvent.click(await screen.findByRole("button", { name: "Remove" }));
    const dialog = screen.getByRole("dialog");
    expect(fetch.mock.calls.some(([, init]) => init?.method === "DELETE")).toBe(false);
    fireEvent.click(within(dialog).getByRole("button", { name: "Remove account" }));
    await screen.findByText(/no exchange accounts yet/);
    expect(screen.getByRole("status").textContent).toContain("“Main” was removed");
  });

  it("shows a verification's result", async () => {
    vi.stubGlobal(
      "fetch",
      fakeApi({
        "GET /accounts": { status: 200, body: page([MAIN]) },
        "GET /venues": { status: 200, body: [{ name: "sim" }] },
        "POST /accounts/a1/verify": {
          status: 200,
          body: { account: { ...MAIN, status: "refused" }, check: { can_trade: true, can_withdraw: true, can_transfer: false, ip_restricted: false, refusal: "this API key can withdraw funds; create a key with withdrawals disabled" } },
        },
      }),
    );
    render(<Accounts />);
    fireEvent.click(await screen.findByRole("button", { name: "Verify" }));
    expect((await screen.findByRole("alert")).textContent).toContain("“Main”: this API key can withdraw funds");
  });

  it("shows a viewer the table without the form or the buttons", async () => {
    signInAs(["viewer"]);
    vi.stubGlobal("fetch", fakeApi({ "GET /accounts": { status: 200, body: page([MAIN]) } }));
    render(<Accounts />);
    await screen.findByRole("table", { name: "Your exchange accounts" });
    expect(screen.queryByRole("button", { name: "Connect" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Verify" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Remove" })).toBeNull();
  });
});
