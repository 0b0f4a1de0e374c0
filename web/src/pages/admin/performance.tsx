/** The platform's performance (`/admin/analytics/performance`), on the operations page:
 * every account's equity together, per valuation asset, over a window at a resolution;
 * its return and risk figures and its equity line. Computed on request (not on the
 * page's 5-second refresh: a window can hold many valuations). */

import { useState } from "preact/hooks";
import { get } from "../../lib/api";
import {
  performanceQuery,
  periodWords,
  RESOLUTIONS,
  utcTime,
  windowProblem,
  type PerformanceFilter,
  type PlatformPerformance,
  type Resolution,
} from "../../lib/admin";
import { formatAmount, metricRows } from "../../lib/format";
import { toPoints } from "../../lib/series";
import { LineChart } from "../../components/charts";
import { Empty, Loaded, useLoad } from "../../components/states";
import "./admin.css";

const DEFAULT_FILTER: PerformanceFilter = { resolution: "hour", from: "", to: "", valuation_asset: "" };

function Filters({ applied, onApply }: { applied: PerformanceFilter; onApply: (filter: PerformanceFilter) => void }) {
  const [typed, setTyped] = useState<PerformanceFilter>(applied);
  const [problem, setProblem] = useState<string | null>(null);
  const edit = (change: Partial<PerformanceFilter>) => setTyped((old) => ({ ...old, ...change }));

  function apply(filter: PerformanceFilter) {
    const found = windowProblem(filter);
    setProblem(found);
    if (!found) onApply(filter);
  }

  return (
    <form
      class="perf-filters"
      aria-label="Platform performance window"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        apply(typed);
      }}
    >
      <div class="field">
        <label for="perf-resolution">Resolution</label>
        <select
          id="perf-resolution"
          value={typed.resolution}
          aria-describedby="perf-resolution-hint"
          onChange={(e) => {
            // A new resolution shows at once, with the window as typed.
            const next = { ...typed, resolution: (e.target as HTMLSelectElement).value as Resolution };
            setTyped(next);
            apply(next);
          }}
        >
          {RESOLUTIONS.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <span id="perf-resolution-hint" class="hint">
          The period of the returns and of the equity line.
        </span>
      </div>
      <div class="field">
        <label for="perf-from">From (UTC)</label>
        <input
          id="perf-from"
          type="datetime-local"
          value={typed.from}
          aria-describedby="perf-window-hint"
          aria-invalid={problem ? "true" : undefined}
          onInput={(e) => edit({ from: (e.target as HTMLInputElement).value })}
        />
      </div>
      <div class="field">
        <label for="perf-to">To (UTC)</label>
        <input
          id="perf-to"
          type="datetime-local"
          value={typed.to}
          aria-describedby="perf-window-hint"
          onInput={(e) => edit({ to: (e.target as HTMLInputElement).value })}
        />
      </div>
      <div class="field">
        <label for="perf-asset">Valuation asset</label>
        <input
          id="perf-asset"
          value={typed.valuation_asset}
          maxLength={16}
          autoComplete="off"
          aria-describedby="perf-asset-hint"
          onInput={(e) => edit({ valuation_asset: (e.target as HTMLInputElement).value })}
        />
        <span id="perf-asset-hint" class="hint">
          Empty: every asset accounts are valued in.
        </span>
      </div>
      <p id="perf-window-hint" class="hint">
        Empty: up to now, over the last day (minute), 60 days (hour) or two years (day).
      </p>
      {problem && (
        <p role="alert" class="field-error">
          {problem}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="secondary">
          Show performance
        </button>
      </div>
    </form>
  );
}

function AssetPerformance({ view, index }: { view: PlatformPerformance; index: number }) {
  const figures = metricRows(view.metrics);
  const last = view.equity[view.equity.length - 1];
  const points = toPoints(view.equity, (p) => p.at, (p) => p.equity);
  const title = `perf-asset-${index}`;
  return (
    <section class="perf-asset" aria-labelledby={title}>
      <h3 id={title}>In {view.valuation_asset}</h3>
      <p class="hint">
        {view.accounts} account{view.accounts === 1 ? "" : "s"}, returns {periodWords(view.resolution)}, from{" "}
        {utcTime(view.start)} to {utcTime(view.end)}.
      </p>
      {(last || figures.length > 0) && (
        <dl class="metrics">
          {last && (
            <div>
              <dt>Equity</dt>
              <dd>
                {formatAmount(last.equity)} {view.valuation_asset}
              </dd>
            </div>
          )}
          {figures.map((row) => (
            <div key={row.name}>
              <dt>{row.label}</dt>
              <dd>{row.text}</dd>
            </div>
          ))}
        </dl>
      )}
      {figures.length === 0 && <Empty>No figures yet: they need a few periods of valuations in this window.</Empty>}
      {points.length >= 2 ? (
        <LineChart
          points={points}
          label={`Platform equity in ${view.valuation_asset}`}
          lastText={last ? `${formatAmount(last.equity)} ${view.valuation_asset}` : undefined}
        />
      ) : (
        <Empty>Not enough valuations in this window for an equity line.</Empty>
      )}
    </section>
  );
}

export function PlatformPerformanceSection() {
  const [applied, setApplied] = useState<PerformanceFilter>(DEFAULT_FILTER);
  const load = useLoad(
    () => get<PlatformPerformance[]>("/admin/analytics/performance", performanceQuery(applied)),
    [JSON.stringify(applied)],
  );
  const narrowed = applied.from !== "" || applied.to !== "" || applied.valuation_asset.trim() !== "";
  return (
    <>
      <h2>Platform performance</h2>
      <p class="hint">
        All accounts' equity together, per valuation asset: deposits, withdrawals and new accounts are flows, not
        performance.
      </p>
      <Filters applied={applied} onApply={(filter) => (JSON.stringify(filter) === JSON.stringify(applied) ? load.reload() : setApplied(filter))} />
      <p class="hint" role="status" aria-live="polite">
        {load.loading && load.data !== undefined ? "Updating the platform's performance…" : ""}
      </p>
      <Loaded
        load={load}
        what="the platform's performance"
        isEmpty={(views) => views.length === 0}
        empty={
          narrowed
            ? "No valuation recorded in this window or valuation asset."
            : "No valuation recorded yet: the platform's performance shows once the portfolio service has valued an account."
        }
      >
        {(views) => (
          <>
            {views.map((view, i) => (
              <AssetPerformance key={view.valuation_asset} view={view} index={i} />
            ))}
          </>
        )}
      </Loaded>
    </>
  );
}
