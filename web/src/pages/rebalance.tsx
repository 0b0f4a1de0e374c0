/** The next rebalance of a `rebalance` bot (GET /bots/{id}/next-rebalance): the market
 * orders it would place now, what they trade and cost, and each asset's weight and the
 * concentration before and after. When the plan cannot be made (balances or prices not
 * known yet, a momentum weighting, another strategy) the API's reason is shown as a
 * sentence. */

import { useId } from "preact/hooks";
import { ApiError, get } from "../lib/api";
import { formatAmount, formatMoney, formatPercent, formatTime } from "../lib/format";
import { fractionToPercent } from "../lib/limits";
import type { AssetWeightView, NextRebalanceView, PlannedOrderView } from "../lib/views";
import { ErrorBox, Loading, useLoad, type Load } from "../components/states";
import { DataTable } from "../components/table";
import "./rebalance.css";

/** The answers that mean "no plan now" rather than a failure. */
const NO_PLAN = new Set([404, 409, 422]);

/** The API's reason as a sentence: "…: no last price yet for BTCUSDT on sim." */
export function noPlanSentence(detail: string): string {
  const text = detail.trim();
  const ended = /[.!?]$/.test(text) ? text : `${text}.`;
  return `The next rebalance cannot be planned now: ${ended}`;
}

/** A Herfindahl index (0–1) with two decimals, or "—". */
function index(value: number | null): string {
  return value === null || !Number.isFinite(value) ? "—" : value.toFixed(2);
}

export function NextRebalance({ botId }: { botId: string }) {
  const id = useId();
  const load = useLoad(
    () => get<NextRebalanceView>(`/bots/${encodeURIComponent(botId)}/next-rebalance`),
    [botId],
  );
  return (
    <section class="next-rebalance" aria-labelledby={`${id}-heading`}>
      <div class="section-head">
        <h2 id={`${id}-heading`}>Next rebalance</h2>
        <button type="button" class="secondary" disabled={load.loading} onClick={load.reload}>
          {load.loading && load.data !== undefined ? "Planning…" : "Plan again"}
        </button>
      </div>
      <Plan load={load} />
    </section>
  );
}

function Plan({ load }: { load: Load<NextRebalanceView> }) {
  const failure = load.error;
  if (failure !== undefined && failure instanceof ApiError && NO_PLAN.has(failure.status)) {
    return <p class="state empty">{noPlanSentence(failure.detail)}</p>;
  }
  const plan = load.data;
  if (plan === undefined) {
    return failure !== undefined ? <ErrorBox error={failure} retry={load.reload} /> : <Loading what="the next rebalance" />;
  }
  const quote = plan.quote;
  return (
    <>
      {failure !== undefined && <ErrorBox error={failure} retry={load.reload} />}
      <DataTable<PlannedOrderView>
        caption="Orders the next rebalance would place"
        rows={plan.orders}
        rowKey={(o, i) => `${i}-${o.symbol}-${o.side}`}
        empty="None: the next rebalance would place no orders now."
        columns={[
          { key: "side", header: "Side", render: (o) => <span class={o.side === "BUY" ? "up" : "down"}>{o.side}</span> },
          { key: "symbol", header: "Symbol" },
          { key: "quantity", header: "Quantity", numeric: true, render: (o) => formatAmount(o.quantity) },
          { key: "value", header: `Value (${quote})`, numeric: true, render: (o) => formatAmount(o.value) },
        ]}
      />
      <dl class="metrics rebalance-figures">
        <div>
          <dt>Equity</dt>
          <dd>{formatMoney(plan.equity, quote)}</dd>
        </div>
        <div>
          <dt>Traded</dt>
          <dd>
            {formatMoney(plan.traded, quote)}
            {plan.traded_fraction !== null && ` (${formatPercent(plan.traded_fraction)} of equity)`}
          </dd>
        </div>
        <div>
          <dt>Taker fees</dt>
          <dd>
            {formatMoney(plan.fees, quote)} at {fractionToPercent(plan.fee_rate)} %
            {plan.fee_rate_source === "assumed" ? " (assumed)" : ""}
          </dd>
        </div>
        <div>
          <dt>Concentration (Herfindahl)</dt>
          <dd>
            {index(plan.before.concentration)} → {index(plan.after.concentration)}
          </dd>
        </div>
        <div>
          <dt>Largest weight</dt>
          <dd>
            {formatPercent(plan.before.largest_weight)} → {formatPercent(plan.after.largest_weight)}
          </dd>
        </div>
      </dl>
      <DataTable<AssetWeightView>
        caption="Weights before and after the next rebalance"
        rows={plan.weights}
        rowKey={(w) => w.asset}
        empty="No holdings."
        columns={[
          { key: "asset", header: "Asset" },
          { key: "before", header: "Before", numeric: true, render: (w) => formatPercent(w.before) },
          { key: "after", header: "After", numeric: true, render: (w) => formatPercent(w.after) },
        ]}
      />
      <p class="hint">
        At the last prices of {formatTime(plan.prices_as_of)} and the balances of {formatTime(plan.balances_as_of)}
        {plan.rounded ? ", rounded to the exchange's filters." : "."}
      </p>
      {plan.notes.length > 0 && (
        <ul class="hint rebalance-notes">
          {plan.notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}
    </>
  );
}
