import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuditLog, DeadLetters, Operations, Users } from "../src/pages/admin";
import { user } from "../src/lib/session";
import { json, stubGateway, type ApiCall } from "./fake_api";
import { seriousViolations } from "./a11y";

type Call = ApiCall;

/** A fake gateway answering by "METHOD path". */
const stubFetch = (answer: (call: Call) => Response): Call[] => stubGateway(answer);

/** Serious and critical axe violations (contrast needs a real layout engine: the
 * browser test checks it). */
const violations = (container: Element): Promise<string[]> => seriousViolations(container);

const page = <T,>(items: T[]) => ({ items, limit: 50, offset: 0, next_offset: null });

const ALICE = {
  id: "u2",
  email: "a***@example.org",
  roles: ["trader"],
  created_at: "2026-01-01T00:00:00Z",
  disabled: false,
  failed_logins: 3,
  locked_until: "2999-01-01T00:00:00Z",
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("users", () => {
  it("lets an admin change roles, sending the ticked set", async () => {
    user.value = { id: "u1", email: "r***@example.org", roles: ["admin"], created_at: "2026-01-01T00:00:00Z" };
    const calls = stubFetch((c) =>
      c.method === "PUT" ? json(200, { ...ALICE, roles: ["trader", "viewer"] }) : json(200, page([ALICE])),
    );
    const { container } = render(<Users />);
    expect(await screen.findByText("a***@example.org")).toBeTruthy();
    expect(screen.getByText(/Locked until/)).toBeTruthy();
    expect(await violations(container)).toEqual([]);

    fireEvent.click(screen.getByRole("button", { name: "Edit roles" }));
    fireEvent.click(screen.getByLabelText("viewer"));
    fireEvent.click(screen.getByRole("button", { name: "Save roles" }));
    expect(await screen.findByText(/now has the roles: trader, viewer/)).toBeTruthy();
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.path).toBe("/admin/users/u2/roles");
    expect(put?.body).toEqual({ roles: ["trader", "viewer"] });
  });

  it("shows the API's refusal inside the confirmation", async () => {
    user.value = { id: "u1", email: "r***@example.org", roles: ["admin"], created_at: "2026-01-01T00:00:00Z" };
    stubFetch((c) =>
      c.method === "POST"
        ? json(409, { detail: "you cannot disable yourself; ask another admin", code: "conflict", errors: [] })
        : json(200, page([ALICE])),
    );
    render(<Users />);
    fireEvent.click(await screen.findByRole("button", { name: "Disable" }));
    fireEvent.click(screen.getByRole("button", { name: "Disable user" }));
    expect((await screen.findByRole("alert")).textContent).toContain("you cannot disable yourself");
  });

  it("shows operators no controls", async () => {
    user.value = { id: "u1", email: "o***@example.org", roles: ["operator"], created_at: "2026-01-01T00:00:00Z" };
    stubFetch(() => json(200, page([ALICE])));
    render(<Users />);
    await screen.findByText("a***@example.org");
    expect(screen.queryByRole("button", { name: "Edit roles" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Disable" })).toBeNull();
  });
});

describe("operations", () => {
  it("shows health, breakers in words and the platform's totals", async () => {
    stubFetch((c) => {
      if (c.path === "/admin/health")
        return json(200, [
          { name: "gateway", instance: "host-a:7", status: "ready" },
          { name: "execution", instance: "host-b:42", status: "not_ready" },
          { name: "execution", instance: "host-c:43", status: "ready" },
        ]);
      if (c.path === "/admin/breakers")
        return json(200, [
          { venue: "sim", instance: "host-b:42", state: "half_open" },
          { venue: "sim", instance: "host-c:43", state: "closed" },
          { venue: "sim-coinbase", instance: null, state: "unknown" },
        ]);
      if (c.path === "/admin/analytics/performance") return json(200, []);
      return json(200, {
        accounts: 2,
        bots: { running: 1, paused: 0, stopped: 1 },
        halted_accounts: 0,
        halted_by_risk_limits: 0,
        by_valuation_asset: [
          { valuation_asset: "USDT", accounts: 2, equity: "1000.50", realized_pnl: "1.5", unrealized_pnl: "-2", fees: "0.1", newest: "2026-01-01T00:00:00Z" },
        ],
      });
    });
    const { container } = render(<Operations />);
    expect(await screen.findByText("Half-open (probing)")).toBeTruthy();
    expect(screen.getByText("Not ready")).toBeTruthy();
    // Every instance of a service is a row of its own, named by its process.
    const health = screen.getByRole("table", { name: "Services' health" });
    expect(health.textContent).toContain("host-b:42");
    expect(health.textContent).toContain("host-c:43");
    const breakers = screen.getByRole("table", { name: "Venues' circuit breakers" });
    expect(breakers.querySelectorAll("tbody tr").length).toBe(3);
    expect(await screen.findByText(/Updated at/)).toBeTruthy();
    expect(screen.getByRole("table", { name: "Money per valuation asset" }).textContent).toContain("1,000.5");
    expect(await violations(container)).toEqual([]);
  });
});

describe("dead letters", () => {
  it("lists them with details on demand", async () => {
    stubFetch(() =>
      json(
        200,
        page([
          { topic: "orders.intents", group: "risk", reason: "ValueError: bad symbol", attempts: 5, event_id: "e1", dead_letter_id: "d1", dead_lettered_at: "2026-01-01T00:00:00Z" },
        ]),
      ),
    );
    const { container } = render(<DeadLetters />);
    fireEvent.click(await screen.findByRole("button", { name: "Details" }));
    expect(screen.getByText("e1")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Hide" }).getAttribute("aria-expanded")).toBe("true");
    expect(await violations(container)).toEqual([]);
  });

  it("says when the dead-letter service is not reachable", async () => {
    stubFetch(() => json(503, { detail: "the deadletters service does not run in this process", code: "unavailable", errors: [] }));
    render(<DeadLetters />);
    expect((await screen.findByRole("alert")).textContent).toMatch(/not reachable/);
  });
});

describe("audit log", () => {
  it("filters by action and pages", async () => {
    const calls = stubFetch(() =>
      json(200, {
        items: [{ id: 7, at: "2026-01-01T00:00:00Z", actor_id: "u1", action: "kill_switch.engaged", target_type: "global", target_id: "", detail: { reason: "halt" }, source_ip: "127.0.0.1" }],
        limit: 50,
        offset: 0,
        next_offset: 50,
      }),
    );
    const { container } = render(<AuditLog />);
    expect(await screen.findByText("reason: halt")).toBeTruthy();
    expect(await violations(container)).toEqual([]);
    fireEvent.input(screen.getByLabelText("Action"), { target: { value: "kill_switch.engaged" } });
    fireEvent.click(screen.getByRole("button", { name: "Filter" }));
    await waitFor(() => expect(calls.some((c) => c.query.get("action") === "kill_switch.engaged")).toBe(true));
    fireEvent.click(await screen.findByRole("button", { name: "Next page" }));
    await waitFor(() => expect(calls.some((c) => c.query.get("offset") === "50")).toBe(true));
  });
});
