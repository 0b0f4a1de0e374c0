/** The portfolio (#/): per account its valuation (cards), balances, equity and
 * drawdown charts and the analytics that exist, updated live from the stream. */

import type { ComponentChildren } from "preact";
import { useEffect, useMemo } from "preact/hooks";
import { get } from "../lib/api";
import { collectPages } from "../lib/csv";
import { formatAmount, formatTime, metricRows, signClass } from "../lib/format";
import { live, loadPortfolios, startLive, type PortfolioView } from "../lib/live";
import { drawdown, toPoints } from "../lib/series";
import { streamState } from "../lib/stream";
import { accountName, type AccountView, type AnalyticsView, type EquityPoint, type Page } from "../lib/views";
import { ErrorBox, Loaded, Loading, useLoad } from "../components/states";
import { DataTable } from "../components/table";
import { LineChart } from "../components/charts";
import "./portfolio.css";

/** Equity points read for the charts at most (the oldest first, as the API pages). */
const EQUITY_POINTS_MAX = 2_000;

export function Portfolio() {
  const accounts = useLoad(() => get<Page<AccountView>>("/accounts", { limit: 500 }), []);
  const valuations = useLoad(() => loadPortfolios(), []);
  useEffect(() => startLive(), []);
  return (
    <section class="portfolio">
      <h1>Portfolio</h1>
      <StaleNotice />
      {valuations.error !== undefined && <ErrorBox error={valuations.error} retry={valuations.reload} />}
      <Loaded
        load={accounts}
        what="your accounts"
        isEmpty={(page) => page.items.length === 0}
        empty={
          <>
            No exchange account yet. <a href="#/accounts">Connect one</a> to see its portfolio here.
          </>
        }
      >
        {(page) =>
          page.items.map((account) => (
            <AccountPortfolio key={account.id} account={account} reading={valuations.loading} />
          ))
        }
      </Loaded>
    </section>
  );
}

/** Says when the numbers may be behind: the stream is not (yet) live. */
export function StaleNotice() {
  const state = streamState.value;
  if (state === "live") return null;
  return (
    <p class="notice" role="status">
      {state === "connecting"
        ? "Connecting to live updates…"
        : "Live updates are disconnected (reconnecting): the numbers shown may be stale."}
    </p>
  );
}

function AccountPortfolio({ account, reading }: { account: AccountView; reading: boolean }) {
  const name = accountName(account);
  const view = live.portfolio(account.id).value;
  const headingId = `account-${account.id}`;
  return (
    <section class="panel account-portfolio" aria-labelledby={headingId}>
      <h2 id={headingId}>
        {name} <span class="muted venue">{account.venue}</span>
      </h2>
      {view ? (
        <Valuation view={view} name={name} />
      ) : reading ? (
        <Loading what="the valuation" />
      ) : (
        <p class="state empty">
          No valuation of this account yet: it appears once the platform has read its balances.
        </p>
      )}
      <AccountCharts account={account} name={name} view={view} />
    </section>
  );
}

/** An account's valuation: its cards, when it was taken and its balances; `more` is
 * said after the time (the account page points to the charts here). */
export function Valuation({ view, name, more }: { view: PortfolioView; name: string; more?: ComponentChildren }) {
  const asset = view.valuation_asset;
  const balances = Object.entries(view.balances)
    .map(([assetName, amount]) => ({ asset: assetName, amount }))
    .sort((a, b) => a.asset.localeCompare(b.asset));
  return (
    <>
      <div class="cards">
        <Card label="Equity" value={view.equity} asset={asset} valueLabel={`Equity of ${name}`} />
        <Card label="Realised PnL" value={view.realized_pnl} asset={asset} signed />
        <Card label="Unrealised PnL" value={view.unrealized_pnl} asset={asset} signed />
        <Card label="Fees" value={view.fees} asset={asset} />
        <Card label="Cash" value={view.cash} asset={asset} />
      </div>
      <p class="as-of muted">
        As of <time dateTime={view.as_of}>{formatTime(view.as_of)}</time> ·{" "}
        {view.source === "live" ? "live valuation" : "last stored snapshot"}
        {more}
      </p>
      <DataTable
        caption={`Balances of ${name}`}
        columns={[
          { key: "asset", header: "Asset" },
          { key: "amount", header: "Amount", numeric: true, render: (b) => formatAmount(b.amount) },
        ]}
        rows={balances}
        rowKey={(b) => b.asset}
        empty="No balances."
      />
    </>
  );
}

/** Decimals a card shows (the exact amount is in its tooltip and in the tables). */
const CARD_PLACES = 8;

export function Card({
  label,
  value,
  asset,
  signed,
  valueLabel,
}: {
  label: string;
  value: string;
  asset?: string;
  signed?: boolean;
  valueLabel?: string;
}) {
  const tone = signed ? signClass(value) : "";
  return (
    <div class="card">
      <div class="label">{label}</div>
      <div class={tone ? `value ${tone}` : "value"} role={valueLabel ? "group" : undefined} aria-label={valueLabel}>
        <span title={formatAmount(value)}>{formatAmount(value, { places: CARD_PLACES })}</span>
        {asset && <span class="asset"> {asset}</span>}
      </div>
    </div>
  );
}

interface EquitySeries {
  points: EquityPoint[];
  /** More points exist than were read. */
  truncated: boolean;
}

function AccountCharts({ account, name, view }: { account: AccountView; name: string; view?: PortfolioView }) {
  const history = useLoad<EquitySeries>(async () => {
    const { rows, truncated } = await collectPages(
      (offset, limit) => get<Page<EquityPoint>>(`/accounts/${account.id}/equity`, { offset, limit }),
      EQUITY_POINTS_MAX,
    );
    return { points: rows, truncated };
  }, [account.id]);
  const analytics = useLoad(() => get<AnalyticsView>(`/accounts/${account.id}/analytics`), [account.id]);

  // Too many points to read: the analytics' hourly series covers the recent window.
  const recorded = history.data?.truncated && analytics.data ? analytics.data.equity : (history.data?.points ?? []);
  const series = useMemo(() => {
    const rows = [...recorded];
    if (view && (rows.length === 0 || view.as_of > rows[rows.length - 1].at)) {
      rows.push({ at: view.as_of, equity: view.equity });
    }
    return toPoints(rows, (p) => p.at, (p) => p.equity);
  }, [recorded, view?.as_of, view?.equity]);
  const falls = useMemo(() => drawdown(series), [series]);

  return (
    <div class="account-charts">
      <h3>Equity and drawdown</h3>
      {history.loading && history.data === undefined ? (
        <Loading what="the equity history" />
      ) : history.error !== undefined && series.length === 0 ? (
        <ErrorBox error={history.error} retry={history.reload} />
      ) : series.length < 2 ? (
        <p class="state empty">
          Not enough history for a chart yet: the equity is recorded as the account is valued.
        </p>
      ) : (
        <div class="chart-pair">
          <LineChart points={series} label={`Equity of ${name} over time`} lastText={view ? formatAmount(view.equity) : undefined} />
          <LineChart points={falls} label={`Drawdown of ${name}`} format="percent" tone="down" small />
        </div>
      )}
      <h3>Analytics</h3>
      <Analytics load={analytics} />
    </div>
  );
}

function Analytics({ load }: { load: ReturnType<typeof useLoad<AnalyticsView>> }) {
  if (load.data === undefined) {
    if (load.error !== undefined) return <ErrorBox error={load.error} retry={load.reload} />;
    return <Loading what="the analytics" />;
  }
  const rows = metricRows(load.data.metrics);
  if (rows.length === 0) {
    return <p class="state empty">No analytics yet: they need a few recorded valuations of this account.</p>;
  }
  return (
    <>
      <dl class="metrics">
        {rows.map((row) => (
          <div key={row.name}>
            <dt>{row.label}</dt>
            <dd>{row.text}</dd>
          </div>
        ))}
      </dl>
      <p class="hint">
        Over {formatTime(load.data.start)} – {formatTime(load.data.end)}, per {load.data.resolution}.
      </p>
    </>
  );
}
