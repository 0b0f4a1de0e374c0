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

// -- risk limits (gateway/routes_limits.py) -------------------------------------------

/** A party's limits as fractions of equity, decimal strings ("0.1" = 10 %); null: none. */
export interface RiskLimitsView {
  max_drawdown: string | null;
  max_var_95: string | null;
}

/** What a PUT of risk limits carries: fractions as decimal strings, null for no limit. */
export type RiskLimitsBody = RiskLimitsView;

/** A limit that applies, and whose it is. */
export interface LimitInForce {
  value: string;
  set_by: "account" | "bot" | "platform";
}

export interface EffectiveLimitsView {
  max_drawdown: LimitInForce | null;
  max_var_95: LimitInForce | null;
}

/** An engaged kill switch (`KillSwitchView`); `actor_id` "risk-limits" when an
 * account's own limits engaged it. */
export interface KillSwitchView {
  scope: string;
  target: string;
  reason: string;
  actor_id: string | null;
  engaged_at: string;
}

export interface AccountRiskLimitsView {
  account: RiskLimitsView;
  platform: RiskLimitsView;
  effective: EffectiveLimitsView;
  halted: KillSwitchView | null;
}

export interface BotRiskLimitsView {
  bot: RiskLimitsView;
  platform: RiskLimitsView;
  effective: EffectiveLimitsView;
  paused_reason: string | null;
}

// -- the next rebalance (gateway/routes_rebalance.py) ---------------------------------

/** A market order the next rebalance would place; `value` in the plan's quote. */
export interface PlannedOrderView {
  side: "BUY" | "SELL";
  symbol: string;
  quantity: string;
  value: string;
}

/** An asset's share of the bot's equity now and after the planned fills (floats). */
export interface AssetWeightView {
  asset: string;
  before: number;
  after: number;
}

/** Herfindahl index of the weights (1: all in one asset) and the largest weight. */
export interface RiskFiguresView {
  concentration: number | null;
  largest_weight: number | null;
}

export interface NextRebalanceView {
  bot_id: string;
  account_id: string;
  quote: string;
  orders: PlannedOrderView[];
  equity: string;
  traded: string;
  traded_fraction: number | null;
  fee_rate: string;
  fee_rate_source: "venue" | "assumed";
  fees: string;
  rounded: boolean;
  weights: AssetWeightView[];
  before: RiskFiguresView;
  after: RiskFiguresView;
  balances_as_of: string;
  prices_as_of: string;
  notes: string[];
}
