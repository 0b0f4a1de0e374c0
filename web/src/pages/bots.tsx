/** Bots: the caller's bots (strategy, account, state), and the form that creates one
 * from a strategy's parameter schema (`GET /strategies`). The form checks only that
 * required fields are filled; every other message is the API's, under its field. */

import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";
import { ApiError, get, post } from "../lib/api";
import { navigate } from "../lib/router";
import {
  initialValues,
  missingRequired,
  placeErrors,
  schemaDescription,
  schemaFields,
  toParams,
  type FieldSpec,
  type FormValues,
} from "../lib/schema";
import { canTrade } from "../lib/session";
import { Empty, ErrorBox, Loaded, Loading, useLoad } from "../components/states";
import { formatTime } from "../lib/format";
import { accountName, type AccountView, type BotView } from "../lib/views";
import { allPages, listAccounts } from "./accounts";
import "./bots.css";

interface Strategy {
  name: string;
  params_schema: Record<string, unknown>;
}

/** "dca 3f2a9c1b": how a bot is named in lists. */
export function botName(bot: Pick<BotView, "id" | "strategy">): string {
  return `${bot.strategy} ${bot.id.slice(0, 8)}`;
}

/** A docstring's `code` spans as <code>. */
function withCode(text: string): ComponentChildren {
  return text.split("`").map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part));
}

// -- the list --------------------------------------------------------------------------

export function Bots() {
  const bots = useLoad(() => allPages<BotView>("/bots"), []);
  // Labels only: the list still shows when the accounts cannot be read.
  const accounts = useLoad(listAccounts, []);
  const trader = canTrade.value;
  const labels = new Map((accounts.data ?? []).map((a) => [a.id, accountName(a)]));

  return (
    <section class="bots-page">
      <div class="page-head">
        <h1>Bots</h1>
        {trader && (
          <a class="button-link" href="#/bots/new">
            New bot
          </a>
        )}
      </div>
      <Loaded
        load={bots}
        what="your bots"
        isEmpty={(list) => list.length === 0}
        empty={
          trader ? (
            <>
              You have no bots yet. Choose <a href="#/bots/new">New bot</a>, pick one of your exchange accounts and a
              strategy, set its parameters, then start it from the bot's page.
            </>
          ) : (
            "There are no bots on your accounts yet."
          )
        }
      >
        {(list) => (
          <div class="table-wrap">
            <table>
              <caption>Your bots</caption>
              <thead>
                <tr>
                  <th scope="col">Bot</th>
                  <th scope="col">Account</th>
                  <th scope="col">State</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {list.map((bot) => (
                  <tr key={bot.id}>
                    <td>
                      <a href={`#/bots/${encodeURIComponent(bot.id)}`}>{botName(bot)}</a>
                    </td>
                    <td>{labels.get(bot.account_id) ?? <span class="mono">{bot.account_id.slice(0, 8)}</span>}</td>
                    <td>
                      <span class={`badge ${bot.state}`}>{bot.state}</span>
                      {bot.halted_by ? (
                        <span class="hint reason">halted by a kill switch: {bot.halted_by.reason}</span>
                      ) : (
                        bot.paused_reason && <span class="hint reason">{bot.paused_reason}</span>
                      )}
                    </td>
                    <td>{formatTime(bot.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>
    </section>
  );
}

// -- the new-bot form --------------------------------------------------------------------

interface Catalog {
  accounts: AccountView[];
  strategies: Strategy[];
}

async function loadCatalog(): Promise<Catalog> {
  const [accounts, strategies] = await Promise.all([listAccounts(), get<Strategy[]>("/strategies")]);
  return { accounts, strategies };
}

export function NewBot() {
  const load = useLoad(loadCatalog, []);
  return (
    <section class="new-bot-page">
      <h1>New bot</h1>
      {!canTrade.value ? (
        <p class="notice" role="status">
          Your role can look at bots but not create them. <a href="#/bots">Back to your bots</a>.
        </p>
      ) : load.data === undefined ? (
        load.error !== undefined ? <ErrorBox error={load.error} retry={load.reload} /> : <Loading what="strategies and accounts" />
      ) : load.data.accounts.length === 0 ? (
        <Empty>
          A bot trades on one of your exchange accounts, and you have none yet:{" "}
          <a href="#/accounts">connect an exchange account</a> first.
        </Empty>
      ) : load.data.strategies.length === 0 ? (
        <Empty>No strategies are installed on this platform; ask an operator.</Empty>
      ) : (
        <NewBotForm accounts={load.data.accounts} strategies={load.data.strategies} />
      )}
    </section>
  );
}

const REQUIRED = "Required: fill this in.";

function NewBotForm({ accounts, strategies }: Catalog) {
  const [accountId, setAccountId] = useState(accounts[0].id);
  const [strategyName, setStrategyName] = useState(strategies[0].name);
  const strategy = strategies.find((s) => s.name === strategyName) ?? strategies[0];
  const fields = useMemo(() => schemaFields(strategy.params_schema), [strategy]);
  const [values, setValues] = useState<FormValues>(() => initialValues(fields));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [alert, setAlert] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);

  const chooseStrategy = (name: string) => {
    const next = strategies.find((s) => s.name === name);
    if (!next) return;
    const nextFields = schemaFields(next.params_schema);
    const nextValues = initialValues(nextFields);
    // What the user typed for a parameter both strategies have (a symbol) stays.
    for (const field of fields) {
      const typed = values[field.name];
      if (field.name in nextValues && typed !== undefined && typed !== (field.defaultValue ?? "")) {
        nextValues[field.name] = typed;
      }
    }
    setStrategyName(name);
    setValues(nextValues);
    setErrors({});
    setAlert(null);
  };

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const missing = missingRequired(fields, values);
    if (missing.length > 0) {
      setErrors(Object.fromEntries(missing.map((name) => [`params.${name}`, REQUIRED])));
      setAlert(["Fill in the required fields marked below."]);
      return;
    }
    setBusy(true);
    setErrors({});
    setAlert(null);
    try {
      const bot = await post<BotView>("/bots", {
        account_id: accountId,
        strategy: strategy.name,
        params: toParams(fields, values),
      });
      navigate(`/bots/${bot.id}`);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        setAlert([String(error)]);
      } else {
        const keys = ["account_id", "strategy", ...fields.map((f) => `params.${f.name}`)];
        const placed = placeErrors(error.errors, keys);
        setErrors(placed.byKey);
        if (placed.unplaced.length > 0) setAlert(placed.unplaced);
        else if (error.errors.length === 0) setAlert([error.detail]);
        else setAlert(["The bot was not created: correct the fields marked below."]);
      }
      setBusy(false);
    }
  };

  const description = schemaDescription(strategy.params_schema);

  return (
    <form class="panel new-bot" noValidate onSubmit={onSubmit}>
      {alert && (
        <div class="state error" role="alert">
          {alert.map((line) => (
            <p key={line}>{line}</p>
          ))}
        </div>
      )}
      <div class="bot-grid">
        <div class="field">
          <label for="bot-account">Account</label>
          <select
            id="bot-account"
            value={accountId}
            onChange={(e) => setAccountId(e.currentTarget.value)}
            aria-invalid={errors.account_id ? "true" : undefined}
            aria-describedby={errors.account_id ? "bot-account-error" : undefined}
          >
            {accounts.map((a) => (
              <option key={a.id} value={a.id}>
                {accountName(a)} ({a.venue})
              </option>
            ))}
          </select>
          {errors.account_id && (
            <span id="bot-account-error" class="field-error">
              {errors.account_id}
            </span>
          )}
        </div>
        <div class="field">
          <label for="bot-strategy">Strategy</label>
          <select
            id="bot-strategy"
            value={strategy.name}
            onChange={(e) => chooseStrategy(e.currentTarget.value)}
            aria-invalid={errors.strategy ? "true" : undefined}
            aria-describedby={[description ? "bot-strategy-hint" : "", errors.strategy ? "bot-strategy-error" : ""].filter(Boolean).join(" ") || undefined}
          >
            {strategies.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
          {description && (
            <span id="bot-strategy-hint" class="hint">
              {withCode(description)}
            </span>
          )}
          {errors.strategy && (
            <span id="bot-strategy-error" class="field-error">
              {errors.strategy}
            </span>
          )}
        </div>
      </div>
      <fieldset class="params">
        <legend>Parameters of {strategy.name}</legend>
        {fields.length === 0 && <p class="muted">This strategy takes no parameters.</p>}
        <div class="bot-grid">
          {fields.map((field) => (
            <ParamField
              key={`${strategy.name}:${field.name}`}
              field={field}
              value={values[field.name] ?? ""}
              error={errors[`params.${field.name}`]}
              onChange={(value) => setValues((v) => ({ ...v, [field.name]: value }))}
            />
          ))}
        </div>
      </fieldset>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create bot"}
        </button>
        <a href="#/bots">Cancel</a>
      </div>
    </form>
  );
}

interface ParamFieldProps {
  field: FieldSpec;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}

function ParamField({ field, value, error, onChange }: ParamFieldProps) {
  const id = `param-${field.name}`;
  const hint = [field.required ? "Required." : "", field.hint].filter(Boolean).join(" ");
  const describedBy = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: field.name,
    "aria-invalid": error ? ("true" as const) : undefined,
    "aria-describedby": describedBy,
  };
  const below = (
    <>
      {hint && (
        <span id={`${id}-hint`} class="hint">
          {withCode(hint)}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} class="field-error">
          {error}
        </span>
      )}
    </>
  );

  if (field.kind === "boolean") {
    return (
      <div class="field checkbox">
        <span class="checkbox-row">
          <input {...common} type="checkbox" checked={value === "true"} onChange={(e) => onChange(e.currentTarget.checked ? "true" : "false")} />
          <label for={id}>{field.label}</label>
        </span>
        {below}
      </div>
    );
  }

  let control;
  if (field.kind === "select") {
    const blank = !field.required || field.nullable || field.defaultValue === undefined;
    control = (
      <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {blank && <option value="">{field.nullable ? "none" : "(default)"}</option>}
        {(field.options ?? []).map((o) => (
          <option key={o.value} value={o.value}>
            {o.value}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === "json") {
    control = <textarea {...common} rows={3} spellcheck={false} value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
  } else {
    const inputMode = field.kind === "integer" ? "numeric" : field.kind === "decimal" || field.kind === "number" ? "decimal" : undefined;
    control = (
      <input
        {...common}
        type="text"
        inputMode={inputMode}
        autocomplete="off"
        spellcheck={false}
        value={value}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  }
  return (
    <div class={`field kind-${field.kind}`}>
      <label for={id}>{field.label}</label>
      {control}
      {below}
    </div>
  );
}
