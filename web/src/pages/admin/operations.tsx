/** #/admin/operations: the services' readiness, the venues' circuit breakers and the
 * platform's aggregates, refreshed every 5 s while the tab is visible; then the
 * platform's performance over a window (performance.tsx), computed on request. */

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { get } from "../../lib/api";
import {
  breakerLook,
  healthDetails,
  healthLook,
  utcTime,
  type Breaker,
  type PlatformAnalytics,
  type ServiceHealth,
  type Tone,
} from "../../lib/admin";
import { formatAmount } from "../../lib/format";
import { Empty, ErrorBox, Loading } from "../../components/states";
import { DataTable, type Column } from "../../components/table";
import { PlatformPerformanceSection } from "./performance";
import "./admin.css";

const REFRESH_MS = 5000;

/** One source's latest answer: the data kept across a failed refresh. */
interface Slot<T> {
  data?: T;
  error?: unknown;
}

interface Snapshot {
  health: Slot<ServiceHealth[]>;
  breakers: Slot<Breaker[]>;
  analytics: Slot<PlatformAnalytics>;
  at?: Date;
}

function settle<T>(old: Slot<T>, result: PromiseSettledResult<T>): Slot<T> {
  return result.status === "fulfilled" ? { data: result.value } : { data: old.data, error: result.reason };
}

/** Fetches all three now, then every `REFRESH_MS` while the page is visible. */
function useOperations(): [Snapshot, () => void] {
  const [snapshot, setSnapshot] = useState<Snapshot>({ health: {}, breakers: {}, analytics: {} });
  const running = useRef(false);

  const refresh = () => {
    if (running.current) return;
    running.current = true;
    void Promise.allSettled([
      get<ServiceHealth[]>("/admin/health"),
      get<Breaker[]>("/admin/breakers"),
      get<PlatformAnalytics>("/admin/analytics"),
    ]).then(([health, breakers, analytics]) => {
      running.current = false;
      setSnapshot((old) => ({
        health: settle(old.health, health),
        breakers: settle(old.breakers, breakers),
        analytics: settle(old.analytics, analytics),
        at: new Date(),
      }));
    });
  };

  useEffect(() => {
    refresh();
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      clearInterval(timer);
      timer = setInterval(refresh, REFRESH_MS);
    };
    const onVisibility = () => {
      if (document.hidden) clearInterval(timer);
      else {
        refresh();
        start();
      }
    };
    if (!document.hidden) start();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return [snapshot, refresh];
}

function ToneBadge({ tone, label }: { tone: Tone; label: string }) {
  return <span class={`badge tone-${tone}`}>{label}</span>;
}

function Section<T>({ slot, what, retry, children }: { slot: Slot<T>; what: string; retry: () => void; children: (data: T) => ComponentChildren }) {
  if (slot.data === undefined) return slot.error !== undefined ? <ErrorBox error={slot.error} retry={retry} /> : <Loading what={what} />;
  return (
    <>
      {slot.error !== undefined && <ErrorBox error={slot.error} retry={retry} />}
      {children(slot.data)}
    </>
  );
}

const HEALTH_COLUMNS: Column<ServiceHealth>[] = [
  { key: "name", header: "Service" },
  { key: "instance", header: "Instance", render: (s) => s.instance ?? "—" },
  { key: "status", header: "Status", render: (s) => <ToneBadge {...healthLook(s.status)} /> },
  { key: "details", header: "Details", render: (s) => <span class="wrap">{healthDetails(s) || "—"}</span> },
];

const BREAKER_COLUMNS: Column<Breaker>[] = [
  { key: "venue", header: "Venue" },
  { key: "instance", header: "Instance", render: (b) => b.instance ?? "—" },
  { key: "state", header: "Breaker", render: (b) => <ToneBadge {...breakerLook(b.state)} /> },
];

function Analytics({ data }: { data: PlatformAnalytics }) {
  const botStates = Object.entries(data.bots);
  return (
    <>
      <div class="cards">
        <div class="card">
          <div class="label">Accounts</div>
          <div class="value">{data.accounts}</div>
        </div>
        {botStates.map(([state, count]) => (
          <div class="card" key={state}>
            <div class="label">Bots {state}</div>
            <div class="value">{count}</div>
          </div>
        ))}
        <div class="card">
          <div class="label">Accounts halted</div>
          <div class="value">{data.halted_accounts}</div>
          <div class="hint">{data.halted_by_risk_limits} by their risk limits</div>
        </div>
      </div>
      <DataTable
        caption="Money per valuation asset"
        rows={data.by_valuation_asset}
        rowKey={(t) => t.valuation_asset}
        empty="No account has been valued yet."
        columns={[
          { key: "valuation_asset", header: "Valuation asset" },
          { key: "accounts", header: "Accounts", numeric: true },
          { key: "equity", header: "Equity", numeric: true, render: (t) => formatAmount(t.equity) },
          { key: "realized_pnl", header: "Realised PnL", numeric: true, render: (t) => formatAmount(t.realized_pnl) },
          { key: "unrealized_pnl", header: "Unrealised PnL", numeric: true, render: (t) => formatAmount(t.unrealized_pnl) },
          { key: "fees", header: "Fees", numeric: true, render: (t) => formatAmount(t.fees) },
          { key: "newest", header: "Newest valuation", render: (t) => utcTime(t.newest) },
        ]}
      />
    </>
  );
}

export function Operations() {
  const [snapshot, refresh] = useOperations();
  return (
    <section class="admin">
      <h1>Operations</h1>
      <div class="actions">
        <p class="muted updated" role="status" aria-live="off">
          {snapshot.at ? `Updated at ${utcTime(snapshot.at)}; refreshes every 5 s while this tab is visible.` : "Loading…"}
        </p>
        <button type="button" class="secondary" onClick={refresh}>
          Refresh now
        </button>
      </div>

      <h2>Services</h2>
      <Section slot={snapshot.health} what="services' health" retry={refresh}>
        {(services) =>
          services.length === 0 ? (
            <Empty>No service reports its health.</Empty>
          ) : (
            <>
              <DataTable caption="Services' health" columns={HEALTH_COLUMNS} rows={services} rowKey={(s) => `${s.name}@${s.instance ?? ""}`} />
              <p class="hint">Services running in other processes are listed only when the gateway can reach them.</p>
            </>
          )
        }
      </Section>

      <h2>Circuit breakers</h2>
      <Section slot={snapshot.breakers} what="circuit breakers" retry={refresh}>
        {(breakers) => (
          <>
            <DataTable caption="Venues' circuit breakers" columns={BREAKER_COLUMNS} rows={breakers} rowKey={(b) => `${b.venue}@${b.instance ?? ""}`} empty="No venue is configured." />
            <p class="hint">Unknown: the execution service does not report to this gateway, or reports no breaker for the venue.</p>
          </>
        )}
      </Section>

      <h2>Platform</h2>
      <Section slot={snapshot.analytics} what="platform analytics" retry={refresh}>
        {(data) => <Analytics data={data} />}
      </Section>

      <PlatformPerformanceSection />
    </section>
  );
}
