/** The API's response bodies that the portfolio, bot and history pages read
 * (gateway/schemas.py). Amounts are decimal strings; ratios are floats. */

export type { FillView, PortfolioView } from "./live";
export type { Page } from "./csv";

export interface AccountView {
  id: string;
  venue: string;
  label: string;
  api_key: string;
  valuation_asset: string;
  status: string;
  created_at: string;
  verified_at: string | null;
}

/** How an account is named on screen: its label, else its venue and short id. */
export function accountName(account: Pick<AccountView, "id" | "venue" | "label">): string {
  return account.label.trim() || `${account.venue} ${account.id.slice(0, 8)}`;
}

export interface OrderView {
  client_order_id: string;
  account_id: string;
  bot_id: string;
  venue: string;
  symbol: string;
  side: string;
  order_type: string;
  time_in_force: string;
  quantity: string;
  price: string | null;
  state: string;
  filled_quantity: string;
  average_price: string | null;
  reason: string;
  created_at: string;
  updated_at: string;
}

export interface EquityPoint {
  at: string;
  equity: string;
}

export type Metrics = Record<string, number | string | null>;

export interface AnalyticsView {
  account_id: string;
  valuation_asset: string | null;
  resolution: "minute" | "hour" | "day";
  start: string;
  end: string;
  metrics: Metrics;
  equity: EquityPoint[];
}

/** A kill switch that halted a bot (gateway BotView `halted_by`, where present). */
export interface HaltedBy {
  scope: string;
  target: string;
  reason: string;
  engaged_at: string;
}

export interface BotView {
  id: string;
  account_id: string;
  strategy: string;
  params: Record<string, unknown>;
  state: "running" | "paused" | "stopped";
  paused_reason?: string | null;
  halted_by?: HaltedBy | null;
  created_at: string;
  updated_at: string;
}

export interface HoldingView {
  symbol: string;
  quantity: string;
  average_cost: string | null;
}

export interface BotQuoteResultsView {
  quote: string;
  realized_pnl: string;
  fees: string;
  bought: string;
  sold: string;
  volume: string;
  trades: number;
  win_rate: number | null;
  profit_factor: number | null;
  average_win: string | null;
  average_loss: string | null;
  holdings: HoldingView[];
}

export interface BotAnalyticsView {
  bot_id: string;
  account_id: string;
  fills: number;
  truncated: boolean;
  by_quote: BotQuoteResultsView[];
  unvalued_fees: Record<string, string>;
  resolution: "minute" | "hour" | "day";
  start: string;
  end: string;
  quote: string | null;
  pnl: { at: string; pnl: string }[];
  current_drawdown: number | null;
  max_drawdown: number | null;
  var_95: number | null;
  var_periods: number;
}
