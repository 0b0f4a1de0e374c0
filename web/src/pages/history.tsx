/** The orders (#/orders) and fills (#/fills) of all the user's accounts: filters,
 * paging and CSV export of the current filter; the first page follows the stream. */

import { useEffect, useRef, useState } from "preact/hooks";
import { get } from "../lib/api";
import { formatAmount, formatTime, shortId } from "../lib/format";
import {
  NO_FILTER,
  ORDER_STATES,
  fillMatches,
  filterQuery,
  narrowsPages,
  orderMatches,
  type HistoryFilter,
} from "../lib/filters";
import { live, startLive, type FillView } from "../lib/live";
import { accountName, type AccountView, type OrderView, type Page } from "../lib/views";
import { ErrorBox, Loading, useLoad } from "../components/states";
import { CsvButton, DataTable, Pager, type Column } from "../components/table";
import "./history.css";

const PAGE_SIZE = 50;

function Side({ side }: { side: string }) {
  const buy = side.toUpperCase() === "BUY";
  return <span class={buy ? "up" : "down"}>{buy ? "Buy" : side.toUpperCase() === "SELL" ? "Sell" : side}</span>;
}

function Time({ iso }: { iso: string }) {
  return <time dateTime={iso}>{formatTime(iso)}</time>;
}

/** The columns of an orders table; `names` maps account ids to names (optional). */
export function orderColumns(names?: Map<string, string>): Column<OrderView>[] {
  const columns: Column<OrderView>[] = [
    { key: "created_at", header: "Created", render: (o) => <Time iso={o.created_at} /> },
    { key: "symbol", header: "Symbol" },
    { key: "side", header: "Side", render: (o) => <Side side={o.side} /> },
    { key: "order_type", header: "Type" },
    { key: "quantity", header: "Quantity", numeric: true, render: (o) => formatAmount(o.quantity) },
    { key: "price", header: "Price", numeric: true, render: (o) => formatAmount(o.price) },
    { key: "filled_quantity", header: "Filled", numeric: true, render: (o) => formatAmount(o.filled_quantity) },
    { key: "average_price", header: "Average price", numeric: true, render: (o) => formatAmount(o.average_price) },
    { key: "state", header: "State" },
    { key: "reason", header: "Reason", render: (o) => o.reason || "—" },
    { key: "bot_id", header: "Bot", render: (o) => (o.bot_id ? <a href={`#/bots/${o.bot_id}`} title={o.bot_id}>{shortId(o.bot_id)}</a> : "—") },
    { key: "client_order_id", header: "Order id", render: (o) => <code title={o.client_order_id}>{shortId(o.client_order_id.replace(/^tw-/, ""))}</code> },
  ];
  if (names) {
    columns.splice(1, 0, { key: "account_id", header: "Account", render: (o) => names.get(o.account_id) ?? shortId(o.account_id) });
  }
  return columns;
}

export function fillColumns(names?: Map<string, string>): Column<FillView>[] {
  const columns: Column<FillView>[] = [
    { key: "executed_at", header: "Time", render: (f) => <Time iso={f.executed_at} /> },
    { key: "symbol", header: "Symbol" },
    { key: "side", header: "Side", render: (f) => <Side side={f.side} /> },
    { key: "price", header: "Price", numeric: true, render: (f) => formatAmount(f.price) },
    { key: "quantity", header: "Quantity", numeric: true, render: (f) => formatAmount(f.quantity) },
    { key: "fee", header: "Fee", numeric: true, render: (f) => formatAmount(f.fee) },
    { key: "fee_asset", header: "Fee asset" },
    { key: "liquidity", header: "Liquidity", render: (f) => f.liquidity.toLowerCase() },
    { key: "trade_id", header: "Trade id", render: (f) => <code>{f.trade_id}</code> },
    { key: "client_order_id", header: "Order id", render: (f) => <code title={f.client_order_id}>{shortId(f.client_order_id.replace(/^tw-/, ""))}</code> },
  ];
  if (names) {
    columns.splice(1, 0, { key: "account_id", header: "Account", render: (f) => names.get(f.account_id) ?? shortId(f.account_id) });
  }
  return columns;
}

/** Bumps whenever an order or fill event of any (or one) account arrives. */
export function activityOf(accountId?: string): number {
  const counts = live.activity.value;
  if (accountId) return counts.get(accountId) ?? 0;
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
}

/** Calls `reload` `delayMs` after `tick` changes; more changes meanwhile join that
 * one reload (a burst of events: one reload, and a steady stream still reloads). */
export function useReloadOn(tick: number, reload: () => void, enabled = true, delayMs = 400) {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(reload);
  latest.current = reload;
  useEffect(() => {
    if (!enabled || tick === 0 || timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, delayMs);
  }, [tick, enabled]);
  useEffect(
    () => () => {
      clearTimeout(timer.current);
      timer.current = undefined;
    },
    [],
  );
}

function useAccounts() {
  const load = useLoad(() => get<Page<AccountView>>("/accounts", { limit: 500 }), []);
  const accounts = load.data?.items ?? [];
  const names = new Map(accounts.map((a) => [a.id, accountName(a)]));
  return { load, accounts, names };
}

interface ListProps<T> {
  kind: "orders" | "fills";
  title: string;
  matches: (filter: HistoryFilter, row: T) => boolean;
  columns: (names: Map<string, string>) => Column<T>[];
  rowKey: (row: T) => string;
}

function History<T>({ kind, title, matches, columns, rowKey }: ListProps<T>) {
  const { load: accountsLoad, accounts, names } = useAccounts();
  const [filter, setFilter] = useState<HistoryFilter>(NO_FILTER);
  const [offset, setOffset] = useState(0);
  useEffect(() => startLive(), []);

  const fetchPage = (at: number, limit: number) =>
    get<Page<T>>(`/${kind}`, { ...filterQuery(filter, kind), limit, offset: at }).then((page) => ({
      ...page,
      items: page.items.filter((row) => matches(filter, row)),
    }));
  const rows = useLoad(() => fetchPage(offset, PAGE_SIZE), [kind, JSON.stringify(filter), offset]);
  useReloadOn(activityOf(filter.account_id || undefined), rows.reload, offset === 0);

  const apply = (next: HistoryFilter) => {
    setFilter(next);
    setOffset(0);
  };
  const cols = columns(names);
  const page = rows.data;
  return (
    <section class="history">
      <h1>{title}</h1>
      <Filters kind={kind} accounts={accounts} filter={filter} onApply={apply} />
      {accountsLoad.error !== undefined && <ErrorBox error={accountsLoad.error} retry={accountsLoad.reload} />}
      {narrowsPages(filter, kind) && (
        <p class="hint">
          The platform filters by account; the other filters narrow each page it returns, so a page may show
          fewer than {PAGE_SIZE} rows.
        </p>
      )}
      <div class="table-tools">
        <CsvButton
          filename={`tradewind-${kind}-${new Date().toISOString().slice(0, 10)}.csv`}
          columns={cols}
          fetchPage={fetchPage}
          max={10_000}
        />
        <span class="hint">The export holds every page of the current filter, up to 10,000 rows.</span>
      </div>
      {page === undefined ? (
        rows.error !== undefined ? (
          <ErrorBox error={rows.error} retry={rows.reload} />
        ) : (
          <Loading what={kind} />
        )
      ) : (
        <>
          {rows.error !== undefined && <ErrorBox error={rows.error} retry={rows.reload} />}
          <DataTable
            caption={title}
            columns={cols}
            rows={page.items}
            rowKey={rowKey}
            empty={offset === 0 ? `No ${kind} match these filters.` : `No more ${kind}.`}
          />
          <Pager
            offset={offset}
            limit={PAGE_SIZE}
            count={page.items.length}
            nextOffset={page.next_offset}
            onOffset={setOffset}
            what={kind}
          />
        </>
      )}
    </section>
  );
}

function Filters({
  kind,
  accounts,
  filter,
  onApply,
}: {
  kind: "orders" | "fills";
  accounts: AccountView[];
  filter: HistoryFilter;
  onApply: (filter: HistoryFilter) => void;
}) {
  const [draft, setDraft] = useState(filter);
  const set = (key: keyof HistoryFilter) => (event: Event) =>
    setDraft({ ...draft, [key]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const id = (name: string) => `${kind}-filter-${name}`;
  return (
    <form
      class="filters panel"
      aria-label={`Filter the ${kind}`}
      onSubmit={(event) => {
        event.preventDefault();
        onApply(draft);
      }}
    >
      <div class="field">
        <label for={id("account")}>Account</label>
        <select id={id("account")} value={draft.account_id} onChange={set("account_id")}>
          <option value="">All accounts</option>
          {accounts.map((a) => (
            <option key={a.id} value={a.id}>
              {accountName(a)}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for={id("symbol")}>Symbol</label>
        <input id={id("symbol")} value={draft.symbol} onInput={set("symbol")} placeholder="BTCUSDT" autoComplete="off" />
      </div>
      <div class="field">
        <label for={id("side")}>Side</label>
        <select id={id("side")} value={draft.side} onChange={set("side")}>
          <option value="">Buy and sell</option>
          <option value="BUY">Buy</option>
          <option value="SELL">Sell</option>
        </select>
      </div>
      {kind === "orders" && (
        <div class="field">
          <label for={id("state")}>State</label>
          <select id={id("state")} value={draft.state} onChange={set("state")}>
            <option value="">Any state</option>
            {ORDER_STATES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase().replace(/_/g, " ")}
              </option>
            ))}
          </select>
        </div>
      )}
      <div class="field">
        <label for={id("from")}>From</label>
        <input id={id("from")} type="date" value={draft.from} onInput={set("from")} />
      </div>
      <div class="field">
        <label for={id("to")}>To</label>
        <input id={id("to")} type="date" value={draft.to} onInput={set("to")} />
      </div>
      <div class="actions">
        <button type="submit">Apply filters</button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setDraft(NO_FILTER);
            onApply(NO_FILTER);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

export function Orders() {
  return (
    <History<OrderView>
      kind="orders"
      title="Orders"
      matches={orderMatches}
      columns={(names) => orderColumns(names)}
      rowKey={(o) => o.client_order_id}
    />
  );
}

export function Fills() {
  return (
    <History<FillView>
      kind="fills"
      title="Fills"
      matches={fillMatches}
      columns={(names) => fillColumns(names)}
      rowKey={(f) => `${f.account_id}/${f.symbol}/${f.trade_id}`}
    />
  );
}
