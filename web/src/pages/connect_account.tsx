/** The form that connects an exchange account: the venue checks the key before it is
 * stored, and a key that can withdraw or transfer is refused with what to do instead.
 * The secret is cleared from the page after every attempt. */

import { useState } from "preact/hooks";
import { ApiError, get, post } from "../lib/api";
import { placeErrors } from "../lib/schema";
import type { AccountView } from "../lib/views";
import { useLoad } from "../components/states";

/** What to do when the venue's answer made the API refuse a key. */
export const REFUSED_KEY_HELP =
  "For your safety Tradewind only accepts keys that cannot move funds off the exchange: on the exchange's API management page, create a new key with trading and read access but with withdrawals and transfers disabled, then connect that key here.";
export const REJECTED_KEY_HELP =
  "Check that the key and the secret were copied whole and belong to the exchange you picked.";

interface Venue {
  name: string;
  /** `simulated` (the platform's own exchange) or `exchange` (a real one). */
  kind?: string;
}

/** `GET /venues` (VenueView: name, kind, adapter), read leniently: a bare or paged list
 * of objects with a `name`, or of names. */
async function loadVenues(): Promise<Venue[]> {
  const answer = await get<unknown>("/venues");
  const list: unknown[] = Array.isArray(answer)
    ? answer
    : answer && typeof answer === "object" && Array.isArray((answer as { items?: unknown }).items)
      ? (answer as { items: unknown[] }).items
      : [];
  return list.flatMap((item): Venue[] => {
    if (typeof item === "string") return [{ name: item }];
    if (item && typeof item === "object" && typeof (item as Venue).name === "string") {
      const { name, kind } = item as { name: string; kind?: unknown };
      return [{ name, kind: typeof kind === "string" ? kind : undefined }];
    }
    return [];
  });
}

const CONNECT_KEYS = ["venue", "api_key", "api_secret", "label", "valuation_asset"] as const;
type ConnectKey = (typeof CONNECT_KEYS)[number];
type ConnectValues = Record<ConnectKey, string>;

const FIELD_LABEL: Record<ConnectKey, string> = {
  venue: "Exchange",
  api_key: "API key",
  api_secret: "API secret",
  label: "Label",
  valuation_asset: "Valuation asset",
};

const FIELD_HINT: Partial<Record<ConnectKey, string>> = {
  api_secret: "Sent once over this connection, stored encrypted, never shown again.",
  label: "Your name for this account, e.g. “Main” or “Testnet”.",
  valuation_asset: "The asset the portfolio's equity and PnL are counted in.",
};

const EMPTY: ConnectValues = { venue: "", api_key: "", api_secret: "", label: "", valuation_asset: "USDT" };

export function ConnectForm({ onConnected }: { onConnected: (account: AccountView) => void }) {
  const venues = useLoad(loadVenues, []);
  const [values, setValues] = useState<ConnectValues>(EMPTY);
  const [errors, setErrors] = useState<Partial<Record<ConnectKey, string>>>({});
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const venueList = venues.data ?? [];
  // A text input only when the venues cannot be listed: the form never goes dead.
  const venueAsText = venues.error !== undefined || (venues.data !== undefined && venueList.length === 0);
  const venueAsSelect = !venueAsText;
  const venue = values.venue || (venueAsSelect ? (venueList[0]?.name ?? "") : "");

  const set = (key: ConnectKey) => (event: Event) =>
    setValues((v) => ({ ...v, [key]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value }));

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const body = { ...values, venue: venue.trim(), api_key: values.api_key.trim(), label: values.label.trim() };
    const missing: Partial<Record<ConnectKey, string>> = {};
    for (const key of ["venue", "api_key", "api_secret"] as const) {
      if (!body[key]) missing[key] = `Enter the ${FIELD_LABEL[key] === "Exchange" ? "exchange" : FIELD_LABEL[key]}.`;
    }
    if (Object.keys(missing).length > 0) {
      setErrors(missing);
      setFailure(null);
      return;
    }
    setBusy(true);
    setErrors({});
    setFailure(null);
    try {
      const account = await post<AccountView>("/accounts", { ...body, valuation_asset: body.valuation_asset.trim() || "USDT" });
      setValues({ ...EMPTY, venue: body.venue, valuation_asset: body.valuation_asset });
      onConnected(account);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(0, "error", String(error));
      setFailure(apiError);
      setErrors(placeErrors(apiError.errors, [...CONNECT_KEYS]).byKey);
      // The secret never stays in the page longer than one attempt.
      setValues((v) => ({ ...v, api_secret: "" }));
    } finally {
      setBusy(false);
    }
  };

  const describedBy = (key: ConnectKey) =>
    [FIELD_HINT[key] ? `connect-${key}-hint` : "", errors[key] ? `connect-${key}-error` : ""].filter(Boolean).join(" ") ||
    undefined;

  const below = (key: ConnectKey) => (
    <>
      {FIELD_HINT[key] && (
        <span id={`connect-${key}-hint`} class="hint">
          {FIELD_HINT[key]}
        </span>
      )}
      {errors[key] && (
        <span id={`connect-${key}-error`} class="field-error">
          {errors[key]}
        </span>
      )}
    </>
  );

  const input = (key: ConnectKey, extra: Record<string, string> = {}) => (
    <div class="field">
      <label for={`connect-${key}`}>{FIELD_LABEL[key]}</label>
      <input
        id={`connect-${key}`}
        name={key}
        type="text"
        value={values[key]}
        onInput={set(key)}
        aria-invalid={errors[key] ? "true" : undefined}
        aria-describedby={describedBy(key)}
        {...extra}
      />
      {below(key)}
    </div>
  );

  return (
    <form class="panel connect-form" noValidate onSubmit={onSubmit} aria-labelledby="connect-heading">
      <h2 id="connect-heading">Connect an exchange account</h2>
      <p class="hint">
        Use an API key that can trade but cannot withdraw or transfer funds: the exchange is asked what the key may do
        before it is stored, and a key that can move funds is refused.
      </p>
      {failure && (
        <div class="state error" role="alert">
          <p>{failure.detail}</p>
          {failure.code === "key_refused" && <p>{REFUSED_KEY_HELP}</p>}
          {failure.code === "key_rejected" && <p>{REJECTED_KEY_HELP}</p>}
        </div>
      )}
      <div class="connect-grid">
        <div class="field">
          <label for="connect-venue">Exchange</label>
          {venueAsSelect ? (
            <select
              id="connect-venue"
              name="venue"
              value={venue}
              disabled={venues.data === undefined}
              onChange={set("venue")}
              aria-invalid={errors.venue ? "true" : undefined}
              aria-describedby={describedBy("venue")}
            >
              {venues.data === undefined && <option value="">Loading exchanges…</option>}
              {venueList.map((v) => (
                <option key={v.name} value={v.name}>
                  {v.kind === "simulated" ? `${v.name} (simulated)` : v.name}
                </option>
              ))}
            </select>
          ) : (
            <input
              id="connect-venue"
              name="venue"
              type="text"
              value={values.venue}
              onInput={set("venue")}
              placeholder="e.g. sim"
              autocomplete="off"
              spellcheck={false}
              aria-invalid={errors.venue ? "true" : undefined}
              aria-describedby={describedBy("venue")}
            />
          )}
          {below("venue")}
        </div>
        {input("api_key", { autocomplete: "off", spellcheck: "false" })}
        {input("api_secret", { type: "password", autocomplete: "off", spellcheck: "false" })}
        {input("label", { autocomplete: "off" })}
        {input("valuation_asset", { autocomplete: "off", spellcheck: "false" })}
      </div>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Checking the key…" : "Connect"}
        </button>
      </div>
    </form>
  );
}

