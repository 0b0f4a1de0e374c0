/** One bot (#/bots/ID): its state and the controls to change it (and to delete it),
 * why it stopped or paused, its parameters, its results, a `rebalance` bot's next
 * rebalance, its risk limits, a price chart with its fills, and its orders and fills,
 * refreshed as the stream reports its account's orders and fills. */

import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, get, post } from "../lib/api";
import { collectPages } from "../lib/csv";
import { formatAmount, formatPercent, formatTime, shortId, signClass } from "../lib/format";
import { live, startLive, type FillView } from "../lib/live";
import { toPoints, type Candle } from "../lib/series";
import { canTrade } from "../lib/session";
import type { BotAnalyticsView, BotView, OrderView, Page } from "../lib/views";
import { ErrorBox, Loading, useLoad } from "../components/states";
import { DataTable, Pager } from "../components/table";
import { LineChart, PriceChart } from "../components/charts";
import { BotRiskLimits } from "../components/risk_limits";
import { Card, StaleNotice } from "./portfolio";
import { activityOf, fillColumns, orderColumns, useReloadOn } from "./history";
import { DeleteBot } from "./bot_delete";
import { NextRebalance } from "./rebalance";
import "./portfolio.css";
import "./bot.css";

/** Rows of the account's history read to find the bot's (the API filters by account). */
const HISTORY_MAX = 2_000;
const TABLE_PAGE = 25;

type Action = "start" | "pause" | "stop";

/** Which actions make sense from a state (routes_bots.py `_TRANSITIONS`). */
export function allowedActions(state: BotView["state"]): Record<Action, boolean> {
  return { start: state !== "running", pause: state === "running", stop: state !== "stopped" };
}

/** The sentence explaining why the bot is not running, if the API says why. */
export function haltNotice(bot: BotView): string | null {
  const halted = bot.halted_by;
  if (halted) {
    const where = halted.target ? `${halted.scope} ${halted.target}` : halted.scope;
    const verb = bot.state === "stopped" ? "Stopped" : "Halted";
    return `${verb} by a kill switch (${where}): ${halted.reason}`;
  }
  if (bot.paused_reason) return `Paused: ${bot.paused_reason}`;
  return null;
}

/** The symbol a bot trades: its `symbol` parameter, else its newest order's. */
function botSymbol(bot: BotView, orders: OrderView[]): string | null {
  const param = bot.params.symbol;
  if (typeof param === "string" && param) return param;
  return orders[0]?.symbol ?? null;
}

export function BotDetail({ id }: { id: string }) {
  const botLoad = useLoad(() => get<BotView>(`/bots/${encodeURIComponent(id)}`), [id]);
  useEffect(() => startLive(), []);
  const bot = botLoad.data;
  if (bot === undefined) {
    return (
      <section>
        <h1>Bot</h1>
        {botLoad.error !== undefined ? <ErrorBox error={botLoad.error} retry={botLoad.reload} /> : <Loading what="the bot" />}
      </section>
    );
  }
  return <BotPage bot={bot} reload={botLoad.reload} error={botLoad.error} />;
}

interface BotHistory {
  orders: OrderView[];
  fills: FillView[];
}

/** The bot's orders and fills (the API filters both by `bot_id`; each fill names the
 * bot whose order it filled). */
async function loadHistory(bot: BotView): Promise<BotHistory> {
  const query = { account_id: bot.account_id, bot_id: bot.id };
  const [orders, fills] = await Promise.all([
    collectPages((offset, limit) => get<Page<OrderView>>("/orders", { ...query, offset, limit }), HISTORY_MAX),
    collectPages((offset, limit) => get<Page<FillView>>("/fills", { ...query, offset, limit }), HISTORY_MAX),
  ]);
  const mine = orders.rows.filter((o) => o.bot_id === bot.id);
  const ids = new Set(mine.map((o) => o.client_order_id));
  const theirs = fills.rows.filter((f) => (f.bot_id ? f.bot_id === bot.id : ids.has(f.client_order_id)));
  return { orders: mine, fills: theirs };
}

function BotPage({ bot, reload, error }: { bot: BotView; reload: () => void; error: unknown }) {
  const history = useLoad(() => loadHistory(bot), [bot.id]);
  const analytics = useLoad(
    () => get<BotAnalyticsView>(`/bots/${encodeURIComponent(bot.id)}/analytics`, { resolution: "minute" }),
    [bot.id],
  );
  const tick = activityOf(bot.account_id);
  const refresh = () => {
    reload();
    history.reload();
    analytics.reload();
  };
  useReloadOn(tick, refresh);
  // Again a little later: the record of an order can land after its stream event.
  useReloadOn(tick, refresh, true, 3000);

  // Fills of the bot's known orders that the stream delivered since the last read.
  const orderIds = useMemo(() => new Set((history.data?.orders ?? []).map((o) => o.client_order_id)), [history.data]);
  const streamed = live.fills.value.filter((f) => f.account_id === bot.account_id && orderIds.has(f.client_order_id));
  const fills = useMemo(() => mergeFills(streamed, history.data?.fills ?? []), [streamed, history.data]);
  const orders = history.data?.orders ?? [];
  const symbol = botSymbol(bot, orders);
  const notice = haltNotice(bot);

  return (
    <section class="bot-detail">
      <h1>{bot.strategy} bot</h1>
      <StaleNotice />
      {error !== undefined && <ErrorBox error={error} retry={reload} />}
      <div class="bot-head panel">
        <p>
          State:{" "}
          <span class={`badge ${bot.state}`} role="status" aria-label="Bot state">
            {bot.state}
          </span>
          {bot.halted_by && (
            <>
              {" "}
              <span class="badge stopped">halted: no new orders</span>
            </>
          )}
          <span class="muted">
            {" "}
            · bot <code title={bot.id}>{shortId(bot.id)}</code> · updated {formatTime(bot.updated_at)}
          </span>
        </p>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        {canTrade.value && <Controls bot={bot} onChanged={reload} />}
        {canTrade.value && <DeleteBot bot={bot} />}
      </div>
      <h2>Parameters</h2>
      <Params params={bot.params} />
      <h2>Results</h2>
      <Results load={analytics} />
      {bot.strategy === "rebalance" && <NextRebalance botId={bot.id} />}
      <BotRiskLimits botId={bot.id} shownAbove={bot.paused_reason} />
      <h2>Price and fills</h2>
      {symbol ? (
        <BotPriceChart accountId={bot.account_id} symbol={symbol} fills={fills} tick={tick} />
      ) : (
        <p class="state empty">No symbol yet: the chart appears with the bot's first order.</p>
      )}
      <BotTables load={history} orders={orders} fills={fills} />
    </section>
  );
}

function mergeFills(streamed: FillView[], read: FillView[]): FillView[] {
  const key = (f: FillView) => `${f.symbol}/${f.trade_id}`;
  const seen = new Set(read.map(key));
  const extra = streamed.filter((f) => !seen.has(key(f)));
  return [...extra, ...read].sort((a, b) => b.executed_at.localeCompare(a.executed_at));
}

function Controls({ bot, onChanged }: { bot: BotView; onChanged: () => void }) {
  const [busy, setBusy] = useState<Action | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const allowed = allowedActions(bot.state);

  async function act(action: Action) {
    setBusy(action);
    setFailure(null);
    setDone(null);
    try {
      const changed = await post<BotView>(`/bots/${encodeURIComponent(bot.id)}/${action}`);
      setDone(`The bot is ${changed.state}.`);
    } catch (error) {
      setFailure(error instanceof ApiError ? error.detail : String(error));
    } finally {
      setBusy(null);
      onChanged();
    }
  }

  const button = (action: Action, label: string, kind?: string) => (
    <button type="button" class={kind} disabled={!allowed[action] || busy !== null} onClick={() => void act(action)}>
      {busy === action ? `${label}…` : label}
    </button>
  );
  return (
    <>
      <div class="actions">
        {button("start", "Start")}
        {button("pause", "Pause", "secondary")}
        {button("stop", "Stop", "danger")}
        <span class="hint" role="status" aria-live="polite">
          {done}
        </span>
      </div>
      {failure && (
        <p class="state error" role="alert">
          {failure}
        </p>
      )}
    </>
  );
}

function Params({ params }: { params: Record<string, unknown> }) {
  const entries = Object.entries(params);
  if (entries.length === 0) return <p class="muted">This bot has no parameters.</p>;
  return (
    <dl class="metrics params">
      {entries.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{typeof value === "string" ? value : JSON.stringify(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

function Results({ load }: { load: ReturnType<typeof useLoad<BotAnalyticsView>> }) {
  const data = load.data;
  if (data === undefined) {
    if (load.error !== undefined) {
      const missing = load.error instanceof ApiError && load.error.status === 404;
      return missing ? <p class="muted">No results for this bot.</p> : <ErrorBox error={load.error} retry={load.reload} />;
    }
    return <Loading what="the bot's results" />;
  }
  const pnl = toPoints(data.pnl, (p) => p.at, (p) => p.pnl);
  const lastPnl = data.pnl[data.pnl.length - 1]?.pnl;
  return (
    <>
      {data.by_quote.length === 0 && <p class="state empty">No fills yet, so no results.</p>}
      {data.by_quote.map((q) => (
        <div class="cards" key={q.quote} aria-label={`Results in ${q.quote}`} role="group">
          <Card label="Realised PnL" value={q.realized_pnl} asset={q.quote} signed />
          <Card label="Fees" value={q.fees} asset={q.quote} />
          <Card label="Volume" value={q.volume} asset={q.quote} />
          <div class="card">
            <div class="label">Trades</div>
            <div class="value">{q.trades}</div>
          </div>
          {q.holdings.map((h) => (
            <div class="card" key={h.symbol}>
              <div class="label">Holding {h.symbol}</div>
              <div class="value">{formatAmount(h.quantity)}</div>
              {h.average_cost && <div class="hint">average cost {formatAmount(h.average_cost)}</div>}
            </div>
          ))}
        </div>
      ))}
      <dl class="metrics">
        {lastPnl !== undefined && (
          <div>
            <dt>PnL (realised + unrealised − fees)</dt>
            <dd class={signClass(lastPnl)}>
              {formatAmount(lastPnl)} {data.quote ?? ""}
            </dd>
          </div>
        )}
        {data.current_drawdown !== null && (
          <div>
            <dt>Current drawdown</dt>
            <dd>{formatPercent(data.current_drawdown)}</dd>
          </div>
        )}
        {data.max_drawdown !== null && (
          <div>
            <dt>Maximum drawdown</dt>
            <dd>{formatPercent(data.max_drawdown)}</dd>
          </div>
        )}
        {data.var_95 !== null && (
          <div>
            <dt>VaR (95 %, one minute)</dt>
            <dd>{formatPercent(data.var_95)}</dd>
          </div>
        )}
        {data.by_quote.map((q) =>
          q.win_rate === null ? null : (
            <div key={`win-${q.quote}`}>
              <dt>Win rate ({q.quote})</dt>
              <dd>{formatPercent(q.win_rate)}</dd>
            </div>
          ),
        )}
      </dl>
      {pnl.length >= 2 && <LineChart points={pnl} label="The bot's PnL over time" lastText={lastPnl} small />}
      {data.truncated && <p class="hint">Results from the newest {data.fills.toLocaleString("en")} fills.</p>}
    </>
  );
}

/** "BTC/USDT", "BTCUSDT" and "btc-usdt" name the same market. */
function sameMarket(a: string, b: string): boolean {
  const plain = (s: string) => s.toUpperCase().replace(/[/_-]/g, "");
  return plain(a) === plain(b);
}

function BotPriceChart({ accountId, symbol, fills, tick }: { accountId: string; symbol: string; fills: FillView[]; tick: number }) {
  const candles = useLoad(
    () =>
      get<Candle[] | { items: Candle[] }>(`/accounts/${encodeURIComponent(accountId)}/candles`, {
        symbol,
        interval: "5m",
        limit: 200,
      }).then((body) => (Array.isArray(body) ? body : body.items)),
    [accountId, symbol],
  );
  useReloadOn(tick, candles.reload, true, 1500);
  const mine = fills.filter((f) => sameMarket(f.symbol, symbol));
  if (candles.loading && candles.data === undefined) return <Loading what="the price chart" />;
  const bars = candles.data ?? [];
  let note: string | undefined;
  if (candles.error !== undefined) {
    const why = candles.error instanceof ApiError ? candles.error.detail : "the request failed";
    note = `Candles are not available (${why}): the chart shows the prices of the bot's fills.`;
  } else if (bars.length === 0) {
    note = "No candles yet for this symbol: the chart shows the prices of the bot's fills.";
  }
  if (bars.length === 0 && mine.length === 0) {
    return <p class="state empty">{note ? `${note} ` : ""}There are no fills yet.</p>;
  }
  return <PriceChart candles={bars} fills={mine} symbol={symbol} note={note} />;
}

function BotTables({
  load,
  orders,
  fills,
}: {
  load: ReturnType<typeof useLoad<BotHistory>>;
  orders: OrderView[];
  fills: FillView[];
}) {
  const [fillsAt, setFillsAt] = useState(0);
  const [ordersAt, setOrdersAt] = useState(0);
  if (load.data === undefined) {
    return load.error !== undefined ? <ErrorBox error={load.error} retry={load.reload} /> : <Loading what="the bot's orders and fills" />;
  }
  const fillPage = fills.slice(fillsAt, fillsAt + TABLE_PAGE);
  const orderPage = orders.slice(ordersAt, ordersAt + TABLE_PAGE);
  return (
    <>
      {load.error !== undefined && <ErrorBox error={load.error} retry={load.reload} />}
      <h2>Fills</h2>
      <DataTable caption="Fills" columns={fillColumns()} rows={fillPage} rowKey={(f) => `${f.symbol}/${f.trade_id}`} empty="No fills yet." />
      <Pager
        offset={fillsAt}
        limit={TABLE_PAGE}
        count={fillPage.length}
        nextOffset={fillsAt + TABLE_PAGE < fills.length ? fillsAt + TABLE_PAGE : null}
        onOffset={setFillsAt}
        what="fills"
      />
      <h2>Orders</h2>
      <DataTable caption="Orders" columns={orderColumns().filter((c) => c.key !== "bot_id")} rows={orderPage} rowKey={(o) => o.client_order_id} empty="No orders yet." />
      <Pager
        offset={ordersAt}
        limit={TABLE_PAGE}
        count={orderPage.length}
        nextOffset={ordersAt + TABLE_PAGE < orders.length ? ordersAt + TABLE_PAGE : null}
        onOffset={setOrdersAt}
        what="orders"
      />
    </>
  );
}
