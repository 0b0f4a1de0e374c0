import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KillSwitches } from "../src/pages/admin/killswitches";
import { user } from "../src/lib/session";
import { json, stubGateway, type ApiCall } from "./fake_api";
import { seriousViolations } from "./a11y";

type Call = ApiCall;

/** A fake gateway: no kill switch engaged, the ceiling as `answer` says. */
function stubFetch(answer: (call: Call) => Response | undefined): Call[] {
  return stubGateway((call) => (call.path === "/admin/kill-switches" ? json(200, []) : answer(call)));
}

const violations = (container: Element): Promise<string[]> => seriousViolations(container);

const SET = { max_drawdown: "0.125000000000000000", max_var_95: null };

function signIn(roles: string[]) {
  user.value = { id: "u1", email: "r***@example.org", roles, created_at: "2026-01-01T00:00:00Z" };
}

const drawdownInput = () => screen.getByLabelText("Maximum drawdown (%)") as HTMLInputElement;
const varInput = () => screen.getByLabelText("Maximum 1-minute VaR 95 % (%)") as HTMLInputElement;

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("the platform risk ceiling, as an admin", () => {
  it("shows the ceiling in percent and saves fractions as decimal strings", async () => {
    signIn(["admin"]);
    const calls = stubFetch((c) => {
      if (c.method === "GET" && c.path === "/admin/risk-limits") return json(200, SET);
      if (c.method === "PUT" && c.path === "/admin/risk-limits") return json(200, { max_drawdown: "0.075", max_var_95: "0.025" });
    });
    const { container } = render(<KillSwitches />);
    expect(await screen.findByRole("heading", { level: 2, name: "Platform risk ceiling" })).toBeTruthy();
    await waitFor(() => expect(drawdownInput().value).toBe("12.5"));
    expect(varInput().value).toBe("");
    expect(await violations(container)).toEqual([]);

    fireEvent.input(drawdownInput(), { target: { value: "7.5" } });
    fireEvent.input(varInput(), { target: { value: "2.5 %" } });
    fireEvent.click(screen.getByRole("button", { name: "Save ceiling" }));

    expect(await screen.findByText(/Ceiling saved: maximum drawdown 7.5 %, maximum 1-minute VaR 95 % 2.5 %/)).toBeTruthy();
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.body).toEqual({ max_drawdown: "0.075", max_var_95: "0.025" });
    expect(varInput().value).toBe("2.5");
  });

  it("sends null for an emptied field: no ceiling on that figure", async () => {
    signIn(["admin"]);
    const calls = stubFetch((c) => {
      if (c.method === "GET") return json(200, SET);
      if (c.method === "PUT") return json(200, { max_drawdown: null, max_var_95: null });
    });
    render(<KillSwitches />);
    await waitFor(() => expect(drawdownInput().value).toBe("12.5"));
    fireEvent.input(drawdownInput(), { target: { value: "" } });
    fireEvent.click(screen.getByRole("button", { name: "Save ceiling" }));
    expect(await screen.findByText(/maximum drawdown no ceiling/)).toBeTruthy();
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ max_drawdown: null, max_var_95: null });
  });

  it("says what is wrong with a typed value under its field, and sends nothing", async () => {
    signIn(["admin"]);
    const calls = stubFetch((c) => (c.method === "GET" ? json(200, SET) : undefined));
    render(<KillSwitches />);
    await waitFor(() => expect(drawdownInput().value).toBe("12.5"));
    fireEvent.input(drawdownInput(), { target: { value: "150" } });
    fireEvent.input(varInput(), { target: { value: "two" } });
    fireEvent.click(screen.getByRole("button", { name: "Save ceiling" }));
    // The messages are lib/limits.ts's (shared with the owners' limits forms).
    expect(await screen.findByText(/below 100/i)).toBeTruthy();
    expect(document.querySelectorAll(".ceiling .field-error")).toHaveLength(2);
    expect(drawdownInput().getAttribute("aria-invalid")).toBe("true");
    expect(varInput().getAttribute("aria-invalid")).toBe("true");
    expect(calls.some((c) => c.method === "PUT")).toBe(false);
  });

  it("shows the API's 422 message under the field it names", async () => {
    signIn(["admin"]);
    stubFetch((c) => {
      if (c.method === "GET") return json(200, SET);
      return json(422, {
        detail: "body.max_var_95: Input should be less than 1",
        code: "invalid_request",
        errors: [{ field: "body.max_var_95", message: "Input should be less than 1" }],
      });
    });
    render(<KillSwitches />);
    await waitFor(() => expect(drawdownInput().value).toBe("12.5"));
    fireEvent.input(varInput(), { target: { value: "50" } });
    fireEvent.click(screen.getByRole("button", { name: "Save ceiling" }));
    expect(await screen.findByText("Input should be less than 1")).toBeTruthy();
    expect(varInput().getAttribute("aria-invalid")).toBe("true");
    expect(drawdownInput().getAttribute("aria-invalid")).toBeNull();
    expect(screen.getByRole("alert").textContent).toContain("body.max_var_95: Input should be less than 1");
  });

  it("shows the API's refusal", async () => {
    signIn(["admin"]);
    stubFetch((c) =>
      c.method === "GET"
        ? json(200, SET)
        : json(403, { detail: "this needs the risk_ceiling:write permission, which your roles do not grant", code: "forbidden", errors: [] }),
    );
    render(<KillSwitches />);
    await waitFor(() => expect(drawdownInput().value).toBe("12.5"));
    fireEvent.click(screen.getByRole("button", { name: "Save ceiling" }));
    expect((await screen.findByRole("alert")).textContent).toContain("risk_ceiling:write");
  });
});

describe("the platform risk ceiling, as an operator", () => {
  it("shows the values read-only, says why, and offers no save", async () => {
    signIn(["operator"]);
    const { container } = stubFetchAndRender();
    await waitFor(() => expect(drawdownInput().value).toBe("12.5"));
    expect(drawdownInput().readOnly).toBe(true);
    expect(varInput().readOnly).toBe(true);
    expect(screen.getByText(/Only an admin changes the ceiling/)).toBeTruthy();
    expect(screen.getByText(/No ceiling is set/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Save ceiling" })).toBeNull();
    expect(await violations(container)).toEqual([]);
  });

  it("says so when the ceiling cannot be read, and tries again", async () => {
    signIn(["operator"]);
    let answers = 0;
    stubFetch((c) => {
      if (c.path !== "/admin/risk-limits") return undefined;
      answers += 1;
      return answers === 1
        ? json(503, { detail: "the database is not reachable", code: "unavailable", errors: [] })
        : json(200, SET);
    });
    render(<KillSwitches />);
    expect((await screen.findByRole("alert")).textContent).toContain("the database is not reachable");
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(drawdownInput().value).toBe("12.5"));
  });
});

function stubFetchAndRender() {
  stubFetch((c) => (c.method === "GET" && c.path === "/admin/risk-limits" ? json(200, SET) : undefined));
  return render(<KillSwitches />);
}
