/** Risk limits of an account or a bot (gateway/routes_limits.py): the limits in force
 * and whose each is (the owner's or the platform's ceiling), the form that sets the
 * owner's own (typed in percent, sent as fractions), and what the limits did: the halt
 * of an account, with "Resume trading" when its own limits caused it; the pause of a
 * bot, with its reason. Traders edit; viewers see the values. */

import type { ComponentChildren } from "preact";
import { useId, useState } from "preact/hooks";
import { ApiError, get, post, put } from "../lib/api";
import { formatTime } from "../lib/format";
import { fractionToPercent, inForceText, limitText, percentToFraction } from "../lib/limits";
import { canTrade } from "../lib/session";
import type {
  AccountRiskLimitsView,
  BotRiskLimitsView,
  EffectiveLimitsView,
  KillSwitchView,
  RiskLimitsBody,
  RiskLimitsView,
} from "../lib/views";
import { ErrorBox, Loading, useLoad, type Load } from "./states";
import { DataTable } from "./table";
import "./risk_limits.css";

/** Who engages an account's kill switch for its risk limits (domain/risk_limits.py
 * `ENGAGED_BY`): only such a halt can its owner release. */
export const ENGAGED_BY_LIMITS = "risk-limits";

type Figure = keyof RiskLimitsBody;
const FIGURES: Figure[] = ["max_drawdown", "max_var_95"];

/** The fields' labels (the accessible-name contract). */
export const FIELD_LABEL: Record<Figure, string> = {
  max_drawdown: "Maximum drawdown (%)",
  max_var_95: "Maximum 1-minute VaR 95 % (%)",
};

const FIGURE_NAME: Record<Figure, string> = {
  max_drawdown: "Maximum drawdown",
  max_var_95: "Maximum 1-minute VaR 95 %",
};

type Owner = "account" | "bot";

const EXPLAIN: Record<Owner, string> = {
  account:
    "When the account's drawdown from its peak, or its one-minute 95 % value at risk, goes beyond a limit, " +
    "trading on it is halted and its open orders are cancelled. The tighter of your limit and the platform's ceiling applies.",
  bot:
    "When the bot's PnL falls this far from its peak, or its one-minute 95 % value at risk is a loss this large " +
    "(both as a share of the account's equity), the bot is paused. The tighter of your limit and the platform's ceiling applies.",
};

/** A view and the newest answer of a change, which wins until the next read. */
function useLatest<T>(load: Load<T>): [T | undefined, (view: T) => void] {
  // The change remembers the read it followed: a newer read replaces it.
  const [changed, setChanged] = useState<{ view: T; after: T | undefined } | null>(null);
  const current = changed !== null && changed.after === load.data ? changed.view : load.data;
  return [current, (view: T) => setChanged({ view, after: load.data })];
}

/** Loading, an error (a 404 as a sentence: the limits of something gone), or nothing. */
function NotYet<T>({ load }: { load: Load<T> }) {
  if (load.error === undefined) return <Loading what="the risk limits" />;
  if (load.error instanceof ApiError && load.error.status === 404) {
    return <p class="muted">The risk limits are not available: {load.error.detail}.</p>;
  }
  return <ErrorBox error={load.error} retry={load.reload} />;
}

function Frame({ children }: { children: ComponentChildren }) {
  const id = useId();
  return (
    <section class="panel risk-limits" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Risk limits</h2>
      {children}
    </section>
  );
}

// -- an account ------------------------------------------------------------------------

export function AccountRiskLimits({ accountId }: { accountId: string }) {
  const path = `/accounts/${encodeURIComponent(accountId)}/risk-limits`;
  const load = useLoad(() => get<AccountRiskLimitsView>(path), [path]);
  const [view, setView] = useLatest(load);
  return (
    <Frame>
      <p class="hint">{EXPLAIN.account}</p>
      {view === undefined ? (
        <NotYet load={load} />
      ) : (
        <>
          <Halt halted={view.halted} path={path} onResumed={setView} />
          <LimitsTable owner="account" own={view.account} platform={view.platform} effective={view.effective} />
          {canTrade.value && (
            <LimitsForm own={view.account} save={async (body) => setView(await put<AccountRiskLimitsView>(path, body))} />
          )}
        </>
      )}
    </Frame>
  );
}

function Halt({
  halted,
  path,
  onResumed,
}: {
  halted: KillSwitchView | null;
  path: string;
  onResumed: (view: AccountRiskLimitsView) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const resume = async () => {
    setBusy(true);
    setFailure(null);
    setDone(null);
    try {
      onResumed(await post<AccountRiskLimitsView>(`${path}/resume`));
      setDone("Trading on the account is resumed.");
    } catch (error) {
      setFailure(error instanceof ApiError ? error.detail : String(error));
    } finally {
      setBusy(false);
    }
  };

  const byLimits = halted?.actor_id === ENGAGED_BY_LIMITS;
  return (
    <>
      {halted && (
        <div class="notice halt" role="status">
          <p>
            Trading on this account is halted {byLimits ? "by its risk limits" : "by an operator's kill switch"}:{" "}
            {halted.reason} <span class="since">(since {formatTime(halted.engaged_at)})</span>
          </p>
          {!byLimits && <p>Only an operator can release it.</p>}
        </div>
      )}
      {halted && byLimits && canTrade.value && (
        <div class="actions">
          <button type="button" disabled={busy} onClick={() => void resume()}>
            {busy ? "Resuming…" : "Resume trading"}
          </button>
          <span class="hint">The limits halt it again only once its figures have come back within them and break them again.</span>
        </div>
      )}
      <p class="hint" role="status" aria-live="polite">
        {done}
      </p>
      {failure && (
        <p class="state error" role="alert">
          {failure}
        </p>
      )}
    </>
  );
}

// -- a bot -----------------------------------------------------------------------------

/** `shownAbove`: the pause reason the page already shows (not repeated in full). */
export function BotRiskLimits({ botId, shownAbove }: { botId: string; shownAbove?: string | null }) {
  const path = `/bots/${encodeURIComponent(botId)}/risk-limits`;
  const load = useLoad(() => get<BotRiskLimitsView>(path), [path]);
  const [view, setView] = useLatest(load);
  return (
    <Frame>
      <p class="hint">{EXPLAIN.bot}</p>
      {view === undefined ? (
        <NotYet load={load} />
      ) : (
        <>
          {view.paused_reason && (
            <p class="notice">
              {view.paused_reason === shownAbove
                ? "A limit in force paused this bot (the reason is shown above). Start it again when you are ready."
                : `A limit in force paused this bot: ${view.paused_reason}`}
            </p>
          )}
          <LimitsTable owner="bot" own={view.bot} platform={view.platform} effective={view.effective} />
          {canTrade.value && (
            <LimitsForm own={view.bot} save={async (body) => setView(await put<BotRiskLimitsView>(path, body))} />
          )}
        </>
      )}
    </Frame>
  );
}

// -- shared ----------------------------------------------------------------------------

interface LimitRow {
  figure: Figure;
}

function LimitsTable({
  owner,
  own,
  platform,
  effective,
}: {
  owner: Owner;
  own: RiskLimitsView;
  platform: RiskLimitsView;
  effective: EffectiveLimitsView;
}) {
  const rows: LimitRow[] = FIGURES.map((figure) => ({ figure }));
  return (
    <DataTable
      caption="Risk limits in force"
      class="limits-table"
      rowKey={(row) => row.figure}
      rows={rows}
      columns={[
        { key: "figure", header: "Figure", render: (row) => FIGURE_NAME[row.figure] },
        { key: "own", header: owner === "account" ? "This account's" : "This bot's", render: (row) => limitText(own[row.figure]) },
        { key: "platform", header: "Platform's ceiling", render: (row) => limitText(platform[row.figure]) },
        { key: "effective", header: "In force", render: (row) => inForceText(effective[row.figure]) },
      ]}
    />
  );
}

type Values = Record<Figure, string>;

function valuesOf(own: RiskLimitsView): Values {
  return { max_drawdown: fractionToPercent(own.max_drawdown), max_var_95: fractionToPercent(own.max_var_95) };
}

/** The owner's own limits: percent typed, the body's fractions computed on the digits;
 * the API's 422 messages go under their fields. */
export function LimitsForm({ own, save }: { own: RiskLimitsView; save: (body: RiskLimitsBody) => Promise<void> }) {
  const id = useId();
  const [values, setValues] = useState<Values>(() => valuesOf(own));
  const [errors, setErrors] = useState<Partial<Values>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    setFailure(null);
    setDone(null);
    const body: RiskLimitsBody = { max_drawdown: null, max_var_95: null };
    const wrong: Partial<Values> = {};
    for (const figure of FIGURES) {
      const parsed = percentToFraction(values[figure]);
      if (parsed.ok) body[figure] = parsed.fraction;
      else wrong[figure] = parsed.error;
    }
    setErrors(wrong);
    if (Object.keys(wrong).length > 0) return;
    setBusy(true);
    try {
      await save(body);
      setValues({ max_drawdown: fractionToPercent(body.max_drawdown), max_var_95: fractionToPercent(body.max_var_95) });
      setDone(
        `Saved: maximum drawdown ${limitText(body.max_drawdown)}, maximum 1-minute VaR 95 % ${limitText(body.max_var_95)}.`,
      );
    } catch (error) {
      if (error instanceof ApiError) {
        const placed: Partial<Values> = {};
        for (const figure of FIGURES) {
          const message = error.forField(figure);
          if (message) placed[figure] = message;
        }
        setErrors(placed);
        setFailure(
          Object.keys(placed).length > 0 ? "The limits were not saved: see the messages under the fields." : error.detail,
        );
      } else {
        setFailure(String(error));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="limits-form" noValidate onSubmit={onSubmit}>
      <div class="limits-grid">
        {FIGURES.map((figure) => {
          const input = `${id}-${figure}`;
          const described = [`${input}-hint`, errors[figure] ? `${input}-error` : ""].filter(Boolean).join(" ");
          return (
            <div class="field" key={figure}>
              <label for={input}>{FIELD_LABEL[figure]}</label>
              <input
                id={input}
                name={figure}
                type="text"
                inputMode="decimal"
                autocomplete="off"
                value={values[figure]}
                onInput={(event) => {
                  const value = (event.currentTarget as HTMLInputElement).value;
                  setValues((v) => ({ ...v, [figure]: value }));
                }}
                aria-invalid={errors[figure] ? "true" : undefined}
                aria-describedby={described}
              />
              <span id={`${input}-hint`} class="hint">
                Empty: no limit of your own.
              </span>
              {errors[figure] && (
                <span id={`${input}-error`} class="field-error">
                  {errors[figure]}
                </span>
              )}
            </div>
          );
        })}
      </div>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Save limits"}
        </button>
        <span class="hint" role="status" aria-live="polite">
          {done}
        </span>
      </div>
      {failure && (
        <p class="state error" role="alert">
          {failure}
        </p>
      )}
    </form>
  );
}
