/** The platform's risk ceiling (`/admin/risk-limits`), on the kill-switch page: the
 * loosest drawdown and one-minute VaR any account or bot may run at before the
 * analytics service halts it. Operators read it; only admins set it (rbac.py:
 * risk_ceiling:write). The admin types percentages; the API gets fractions as decimal
 * strings computed on the digits (lib/limits.ts, shared with the owners' limits). */

import { useState } from "preact/hooks";
import { ApiError, get, put } from "../../lib/api";
import { isAdmin } from "../../lib/session";
import { ceilingSummary, type CeilingFigure, type RiskCeiling } from "../../lib/admin";
import { fractionToPercent, percentToFraction } from "../../lib/limits";
import { Loaded, useLoad } from "../../components/states";
import "./admin.css";

const FIELDS: { figure: CeilingFigure; id: string; label: string; hint: string }[] = [
  {
    figure: "max_drawdown",
    id: "ceiling-drawdown",
    label: "Maximum drawdown (%)",
    hint: "A fall this deep from the peak of the analytics window halts the account (or pauses the bot).",
  },
  {
    figure: "max_var_95",
    id: "ceiling-var",
    label: "Maximum 1-minute VaR 95 % (%)",
    hint: "A one-minute 95 % value at risk this large, as a share of equity, halts the account (or pauses the bot).",
  },
];

type Typed = Record<CeilingFigure, string>;

function typedFrom(ceiling: RiskCeiling): Typed {
  return { max_drawdown: fractionToPercent(ceiling.max_drawdown), max_var_95: fractionToPercent(ceiling.max_var_95) };
}

function CeilingForm({ saved }: { saved: RiskCeiling }) {
  const admin = isAdmin.value;
  const [typed, setTyped] = useState<Typed>(() => typedFrom(saved));
  const [problems, setProblems] = useState<Partial<Record<CeilingFigure, string>>>({});
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    const parsed = { max_drawdown: percentToFraction(typed.max_drawdown), max_var_95: percentToFraction(typed.max_var_95) };
    const found: Partial<Record<CeilingFigure, string>> = {};
    const body: RiskCeiling = { max_drawdown: null, max_var_95: null };
    for (const { figure } of FIELDS) {
      const input = parsed[figure];
      if (input.ok) body[figure] = input.fraction;
      else found[figure] = input.error;
    }
    setProblems(found);
    setNotice(null);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    setFailure(null);
    try {
      const stored = await put<RiskCeiling>("/admin/risk-limits", body);
      setTyped(typedFrom(stored));
      setNotice(`Ceiling saved: ${ceilingSummary(stored)}. The analytics service applies it at its next round.`);
    } catch (error) {
      setFailure(error instanceof ApiError ? error : new ApiError(0, "error", String(error)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={(e) => void save(e)} noValidate aria-label="Platform risk ceiling">
      {!admin && <p class="notice">Only an admin changes the ceiling; as an operator you see it here.</p>}
      {FIELDS.map(({ figure, id, label, hint }) => {
        const message = problems[figure] ?? failure?.forField(figure);
        return (
          <div class="field" key={figure}>
            <label for={id}>{label}</label>
            <input
              id={id}
              inputMode="decimal"
              autoComplete="off"
              value={typed[figure]}
              readOnly={!admin}
              aria-describedby={`${id}-hint`}
              aria-invalid={message ? "true" : undefined}
              onInput={(e) => {
                const value = (e.target as HTMLInputElement).value;
                setTyped((old) => ({ ...old, [figure]: value }));
              }}
            />
            <span id={`${id}-hint`} class="hint">
              {hint} {!admin && typed[figure] === "" && "No ceiling is set."}
            </span>
            {message && <span class="field-error">{message}</span>}
          </div>
        );
      })}
      {failure && (
        <p role="alert" class="field-error">
          {failure.detail}
        </p>
      )}
      <div role="status" aria-live="polite">
        {notice && <p class="notice">{notice}</p>}
      </div>
      {admin && (
        <div class="actions">
          <button type="submit" disabled={busy}>
            Save ceiling
          </button>
        </div>
      )}
    </form>
  );
}

export function PlatformCeiling() {
  const load = useLoad(() => get<RiskCeiling>("/admin/risk-limits"), []);
  return (
    <section class="panel ceiling" aria-labelledby="ceiling-title">
      <h2 id="ceiling-title">Platform risk ceiling</h2>
      <p class="hint">
        The analytics service halts an account (kill switch) or pauses a bot whose drawdown or VaR goes beyond the
        tighter of its own limit and this ceiling: an owner's looser limit, or none, gives way to the ceiling. Empty:
        no ceiling on that figure.
      </p>
      <Loaded load={load} what="the platform's risk ceiling">
        {(ceiling) => <CeilingForm saved={ceiling} />}
      </Loaded>
    </section>
  );
}
