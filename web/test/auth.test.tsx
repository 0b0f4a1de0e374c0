import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SignIn, SignUp } from "../src/pages/auth";
import { sessionNotice } from "../src/lib/session";

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

function fill(email: string, password: string): void {
  fireEvent.input(screen.getByLabelText("Email"), { target: { value: email } });
  fireEvent.input(screen.getByLabelText("Password"), { target: { value: password } });
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  sessionNotice.value = null;
});

describe("SignIn", () => {
  it("has the heading, labelled inputs with autocomplete, the button and the sign-up link", () => {
    render(<SignIn />);
    expect(screen.getByRole("heading", { level: 1, name: "Sign in" })).toBeTruthy();
    expect(screen.getByLabelText("Email").getAttribute("autocomplete")).toBe("email");
    expect(screen.getByLabelText("Password").getAttribute("autocomplete")).toBe("current-password");
    expect(screen.getByRole("button", { name: "Sign in" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Create an account" }).getAttribute("href")).toBe("#/signup");
  });

  it("shows the API's refusal in an alert", async () => {
    const fetch = vi.fn().mockResolvedValue(
      answer(401, { detail: "wrong e-mail or password", code: "wrong_credentials", errors: [] }),
    );
    vi.stubGlobal("fetch", fetch);
    render(<SignIn />);
    fill("ada@example.org", "not her password");
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("wrong e-mail or password");
    expect(fetch).toHaveBeenCalledWith("/api/v1/auth/session", expect.objectContaining({ method: "POST" }));
    expect(JSON.parse(fetch.mock.calls[0][1].body)).toEqual({ email: "ada@example.org", password: "not her password" });
    await waitFor(() => expect((screen.getByRole("button", { name: "Sign in" }) as HTMLButtonElement).disabled).toBe(false));
  });

  it("says how long to wait when sign-ins are throttled", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn().mockResolvedValue(
        answer(429, { detail: "too many failed logins; try again in 42 s", code: "rate_limited", errors: [] }, { "retry-after": "42" }),
      ),
    );
    render(<SignIn />);
    fill("ada@example.org", "x");
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toContain("try again in 42 s");
  });

  it("asks for empty fields without calling the API", async () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    render(<SignIn />);
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await screen.findByRole("alert");
    expect(screen.getByLabelText("Email").getAttribute("aria-invalid")).toBe("true");
    expect(fetch).not.toHaveBeenCalled();
  });

  it("shows why the last session ended", () => {
    sessionNotice.value = "the session expired; sign in again";
    render(<SignIn />);
    expect(screen.getByRole("status").textContent).toContain("the session expired");
  });
});

describe("SignUp", () => {
  it("shows the password rule the API gave under the password field", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn().mockResolvedValue(
        answer(422, {
          detail: "password: use at least 12 characters",
          code: "invalid_request",
          errors: [{ field: "body.password", message: "password: use at least 12 characters" }],
        }),
      ),
    );
    render(<SignUp />);
    expect(screen.getByRole("heading", { level: 1, name: "Create your account" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Sign in instead" })).toBeTruthy();
    expect(screen.getByLabelText("Password").getAttribute("autocomplete")).toBe("new-password");
    fill("ada@example.org", "short");
    fireEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect((await screen.findByRole("alert")).textContent).toContain("use at least 12 characters");
    const password = screen.getByLabelText("Password");
    expect(password.getAttribute("aria-invalid")).toBe("true");
    const described = (password.getAttribute("aria-describedby") ?? "").split(" ");
    expect(described).toContain("password-error");
    expect(document.getElementById("password-error")?.textContent).toBe("use at least 12 characters");
  });
});
