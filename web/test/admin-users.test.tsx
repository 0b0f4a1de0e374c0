import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Users } from "../src/pages/admin/users";
import { user } from "../src/lib/session";
import { json, stubGateway, type ApiCall } from "./fake_api";

type Call = ApiCall;

const stubFetch = (answer: (call: Call) => Response): Call[] => stubGateway(answer);

const page = <T,>(items: T[]) => ({ items, limit: 50, offset: 0, next_offset: null });

/** Not locked by the counts shown: a sign-in from one source zeroes them while another
 * source may still wait. */
const HOOK = {
  id: "u3",
  email: "h***@example.org",
  roles: ["viewer"],
  created_at: "2026-01-01T00:00:00Z",
  disabled: true,
  failed_logins: 0,
  locked_until: null,
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  user.value = null;
});

describe("users, as an admin", () => {
  it("grants every role the API has, service included", async () => {
    user.value = { id: "u1", email: "r***@example.org", roles: ["admin"], created_at: "2026-01-01T00:00:00Z" };
    const calls = stubFetch((c) => (c.method === "PUT" ? json(200, { ...HOOK, roles: ["service"] }) : json(200, page([HOOK]))));
    render(<Users />);
    fireEvent.click(await screen.findByRole("button", { name: "Edit roles" }));
    fireEvent.click(screen.getByLabelText("viewer"));
    fireEvent.click(screen.getByLabelText("service"));
    fireEvent.click(screen.getByRole("button", { name: "Save roles" }));
    expect(await screen.findByText(/now has the roles: service/)).toBeTruthy();
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ roles: ["service"] });
  });

  it("enables a disabled user and unlocks one whose counts show nothing", async () => {
    user.value = { id: "u1", email: "r***@example.org", roles: ["admin"], created_at: "2026-01-01T00:00:00Z" };
    const calls = stubFetch((c) => (c.method === "POST" ? json(200, { ...HOOK, disabled: false }) : json(200, page([HOOK]))));
    render(<Users />);
    fireEvent.click(await screen.findByRole("button", { name: "Enable" }));
    fireEvent.click(screen.getByRole("button", { name: "Enable user" }));
    expect(await screen.findByText("h***@example.org: enabled.")).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "Unlock" }));
    fireEvent.click(screen.getByRole("button", { name: "Unlock user" }));
    expect(await screen.findByText("h***@example.org: unlocked.")).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual(["/admin/users/u3/enable", "/admin/users/u3/unlock"]);
  });
});
