/** The filters of the orders and fills lists, applied by the API (`account_id`,
 * `symbol` as BASE/QUOTE, `side`, `state` for orders, `since`/`until`). A symbol typed
 * without its slash (`DASHBTC`) cannot be sent: the page then filters each page the API
 * returns by it, so the rows shown always match the filter. */

import type { FillView } from "./live";
import type { OrderView } from "./views";

export interface HistoryFilter {
  account_id: string;
  symbol: string;
  side: "" | "BUY" | "SELL";
  /** Orders only. */
  state: string;
  /** `YYYY-MM-DD` dates, inclusive, in the viewer's time zone ("" for no bound). */
  from: string;
  to: string;
}

export const NO_FILTER: HistoryFilter = { account_id: "", symbol: "", side: "", state: "", from: "", to: "" };

export const ORDER_STATES = [
  "NEW", "SENT", "UNKNOWN", "ACCEPTED", "PARTIALLY_FILLED", "PENDING_CANCEL",
  "FILLED", "CANCELED", "REJECTED", "EXPIRED",
]; // fmt: skip

/** The start and end (exclusive) of the date range, in epoch milliseconds. */
export function dateBounds(filter: Pick<HistoryFilter, "from" | "to">): { since: number; until: number } {
  const day = (text: string) => {
    const [y, m, d] = text.split("-").map(Number);
    return new Date(y, m - 1, d).getTime();
  };
  return {
    since: filter.from ? day(filter.from) : -Infinity,
    until: filter.to ? day(filter.to) + 86_400_000 : Infinity,
  };
}

/** The query parameters of a filter (empty ones left out by `api.url`). */
export function filterQuery(filter: HistoryFilter, kind: "orders" | "fills"): Record<string, string> {
  const { since, until } = dateBounds(filter);
  const symbol = filter.symbol.trim().toUpperCase();
  return {
    account_id: filter.account_id,
    symbol: PAIR.test(symbol) ? symbol : "",
    side: filter.side,
    state: kind === "orders" ? filter.state : "",
    since: Number.isFinite(since) ? new Date(since).toISOString() : "",
    until: Number.isFinite(until) ? new Date(until).toISOString() : "",
  };
}

function common(filter: HistoryFilter, row: { account_id: string; symbol: string; side: string }, at: string) {
  const symbol = filter.symbol.trim().toUpperCase().replace(/[/_-]/g, "");
  if (filter.account_id && row.account_id !== filter.account_id) return false;
  if (symbol && !row.symbol.toUpperCase().replace(/[/_-]/g, "").includes(symbol)) return false;
  if (filter.side && row.side.toUpperCase() !== filter.side) return false;
  const { since, until } = dateBounds(filter);
  const ms = Date.parse(at);
  return ms >= since && ms < until;
}

export function orderMatches(filter: HistoryFilter, order: OrderView): boolean {
  if (filter.state && order.state !== filter.state) return false;
  return common(filter, order, order.created_at);
}

export function fillMatches(filter: HistoryFilter, fill: FillView): boolean {
  return common(filter, fill, fill.executed_at);
}

/** A symbol the API can filter by. */
const PAIR = /^[A-Z0-9]{1,16}\/[A-Z0-9]{1,16}$/;

/** Whether the page narrows the API's pages itself (a symbol without its slash): a
 * page may then show fewer rows than it holds. */
export function narrowsPages(filter: HistoryFilter, _kind: "orders" | "fills"): boolean {
  const symbol = filter.symbol.trim().toUpperCase();
  return Boolean(symbol) && !PAIR.test(symbol);
}
