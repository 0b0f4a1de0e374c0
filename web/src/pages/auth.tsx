/** Sign in and sign up: the two pages a signed-out visitor sees. Every refusal shows the
 * API's own sentence (wrong password, locked, too many attempts with the wait, the
 * password rules), in an alert and, when it names a field, under that field too. */

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ApiError } from "../lib/api";
import { placeErrors } from "../lib/schema";
import { sessionNotice, signIn, signUp } from "../lib/session";
import "./auth.css";

interface AuthFormProps {
  heading: string;
  submitLabel: string;
  busyLabel: string;
  passwordAutocomplete: "current-password" | "new-password";
  passwordHint?: string;
  submit: (email: string, password: string) => Promise<void>;
  /** Why the last session ended, shown above the form. */
  notice?: string | null;
  children?: ComponentChildren;
}

type FieldName = "email" | "password";

function AuthForm({ heading, submitLabel, busyLabel, passwordAutocomplete, passwordHint, submit, notice, children }: AuthFormProps) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [alert, setAlert] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<FieldName, string>>>({});

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const missing: Partial<Record<FieldName, string>> = {};
    if (!email.trim()) missing.email = "Enter your e-mail address.";
    if (!password) missing.password = "Enter your password.";
    if (missing.email || missing.password) {
      setFieldErrors(missing);
      setAlert("Fill in the fields marked below.");
      return;
    }
    setBusy(true);
    setAlert(null);
    setFieldErrors({});
    try {
      await submit(email.trim(), password);
    } catch (error) {
      if (error instanceof ApiError) {
        setAlert(error.detail);
        setFieldErrors(placeErrors(error.errors, ["email", "password"]).byKey);
      } else {
        setAlert("Something went wrong; try again.");
      }
      setBusy(false);
    }
  };

  const describedBy = (name: FieldName, hint?: boolean) =>
    [hint ? `${name}-hint` : "", fieldErrors[name] ? `${name}-error` : ""].filter(Boolean).join(" ") || undefined;

  return (
    <section class="auth-page" aria-labelledby="auth-heading">
      <p class="auth-brand">Tradewind</p>
      <h1 id="auth-heading">{heading}</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form class="panel" noValidate onSubmit={onSubmit}>
        {alert && (
          <div class="state error" role="alert">
            <p>{alert}</p>
          </div>
        )}
        <div class="field">
          <label for="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            autocomplete="email"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            aria-invalid={fieldErrors.email ? "true" : undefined}
            aria-describedby={describedBy("email")}
            required
          />
          {fieldErrors.email && (
            <span id="email-error" class="field-error">
              {fieldErrors.email}
            </span>
          )}
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete={passwordAutocomplete}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            aria-invalid={fieldErrors.password ? "true" : undefined}
            aria-describedby={describedBy("password", Boolean(passwordHint))}
            required
          />
          {passwordHint && (
            <span id="password-hint" class="hint">
              {passwordHint}
            </span>
          )}
          {fieldErrors.password && (
            <span id="password-error" class="field-error">
              {fieldErrors.password}
            </span>
          )}
        </div>
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? busyLabel : submitLabel}
          </button>
        </div>
      </form>
      {children}
    </section>
  );
}

export function SignIn() {
  const notice = sessionNotice.value;
  return (
    <AuthForm
      heading="Sign in"
      submitLabel="Sign in"
      busyLabel="Signing in…"
      passwordAutocomplete="current-password"
      submit={signIn}
      notice={notice}
    >
      <p class="auth-switch">
        New to Tradewind? <a href="#/signup">Create an account</a>
      </p>
    </AuthForm>
  );
}

export function SignUp() {
  return (
    <AuthForm
      heading="Create your account"
      submitLabel="Create account"
      busyLabel="Creating your account…"
      passwordAutocomplete="new-password"
      passwordHint="At least 12 characters mixing two kinds or more (lower case, upper case, digits, symbols, spaces), not containing your e-mail address."
      submit={signUp}
    >
      <p class="auth-switch">
        Already have an account? <a href="#/signin">Sign in instead</a>
      </p>
    </AuthForm>
  );
}
