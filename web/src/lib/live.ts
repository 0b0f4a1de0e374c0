/** The live portfolio: each account's latest valuation as a signal, seeded from
 * `GET /portfolio` and kept current by the stream's `portfolio` messages, coalesced to
 * one update per account per frame (a burst of fills re-renders once, with the newest
 * values). A valuation older (`as_of`) than the one shown is ignored: the stream and a
 * REST read can cross.
 *
 * Also the recent fills of the stream (newest first, in `FillView`'s shape) and a
 * per-account activity counter that pages watch to refresh their orders and fills. */

import { signal, type Signal } from "@preact/signals";
import { get } from "./api";
import type { Page } from "./csv";
import { Coalescer, subscribe, type StreamMessage } from "./stream";

/** `PortfolioView` (gateway/schemas.py); amounts are decimal strings. */
export interface PortfolioView {
  account_id: string;
  valuation_asset: string;
  equity: string;
  cash: string;
  realized_pnl: string;
  unrealized_pnl: string;
  fees: string;
  balances: Record<string, string>;
  as_of: string;
  source: "live" | "snapshot";
}

/** `FillView` (gateway/schemas.py). */
export interface FillView {
  account_id: string;
  trade_id: string;
  client_order_id: string;
  symbol: string;
  side: string;
  price: string;
  quantity: string;
  fee: string;
  fee_asset: string;
  liquidity: string;
  executed_at: string;
  /** The bot whose order this filled (null: not a bot's; absent from stream fills). */
  bot_id?: string | null;
}

/** A fill as the stream sends it (domain/events.py `Fill`, through hub.py). */
interface StreamFill {
  account_id: string;
  trade_id: string;
  client_order_id: string;
  instrument?: { venue: string; symbol: string };
  side: string;
  price: string;
  quantity: string;
  fee: string;
  fee_asset: string;
  liquidity: string;
  ts_ns: number;
}

/** The stream's fill as the REST API writes fills. */
export function fillFromStream(data: StreamFill): FillView {
  return {
    account_id: data.account_id,
    trade_id: data.trade_id,
    client_order_id: data.client_order_id,
    symbol: data.instrument?.symbol ?? "",
    side: data.side,
    price: data.price,
    quantity: data.quantity,
    fee: data.fee,
    fee_asset: data.fee_asset,
    liquidity: data.liquidity,
    executed_at: new Date(Math.floor(data.ts_ns / 1e6)).toISOString(),
  };
}

function millis(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? -Infinity : ms;
}

const FILLS_KEPT = 500;

export type Scheduler = (run: () => void) => void;

export class LiveStore {
  /** Every account's latest valuation, in arrival order of the accounts. */
  readonly portfolios = signal<ReadonlyMap<string, PortfolioView>>(new Map());
  /** The stream's fills since the page loaded, newest first (at most 500). */
  readonly fills = signal<readonly FillView[]>([]);
  /** Bumped for every order or fill event of an account: pages watching an account
   * reload what the event changed. */
  readonly activity = signal<ReadonlyMap<string, number>>(new Map());

  private readonly perAccount = new Map<string, Signal<PortfolioView | undefined>>();
  /** The newest `as_of` received per account, pending or shown. */
  private readonly newest = new Map<string, number>();
  private readonly coalescer: Coalescer<PortfolioView>;

  constructor(schedule?: Scheduler) {
    this.coalescer = new Coalescer((batch) => this.apply([...batch.values()]), schedule);
  }

  /** The latest valuation of one account (undefined until there is one). */
  portfolio(accountId: string): Signal<PortfolioView | undefined> {
    let found = this.perAccount.get(accountId);
    if (!found) {
      found = signal(this.portfolios.value.get(accountId));
      this.perAccount.set(accountId, found);
    }
    return found;
  }

  /** Valuations read over REST: shown at once (unless older than what is shown). */
  seed(views: PortfolioView[]): void {
    this.apply(views.filter((view) => this.isNewest(view)));
  }

  /** A valuation from the stream: shown at the next frame, with any others. */
  push(view: PortfolioView): void {
    if (this.isNewest(view)) this.coalescer.push(view.account_id, view);
  }

  addFill(fill: FillView): void {
    const same = (f: FillView) =>
      f.account_id === fill.account_id && f.symbol === fill.symbol && f.trade_id === fill.trade_id;
    if (this.fills.value.some(same)) return;
    this.fills.value = [fill, ...this.fills.value].slice(0, FILLS_KEPT);
  }

  touch(accountId: string): void {
    const next = new Map(this.activity.value);
    next.set(accountId, (next.get(accountId) ?? 0) + 1);
    this.activity.value = next;
  }

  /** Handle one stream message. */
  receive(message: StreamMessage): void {
    const data = message.data as { account_id?: string } | undefined;
    if (!data || typeof data.account_id !== "string") return;
    if (message.type === "portfolio") this.push(data as PortfolioView);
    else if (message.type === "fill") {
      this.addFill(fillFromStream(data as StreamFill));
      this.touch(data.account_id);
    } else if (message.type === "order" || message.type === "analytics") this.touch(data.account_id);
  }

  private isNewest(view: PortfolioView): boolean {
    const at = millis(view.as_of);
    const seen = this.newest.get(view.account_id);
    if (seen !== undefined && at < seen) return false;
    this.newest.set(view.account_id, at);
    return true;
  }

  private apply(views: PortfolioView[]): void {
    if (views.length === 0) return;
    const next = new Map(this.portfolios.value);
    for (const view of views) {
      const shown = next.get(view.account_id);
      if (shown && millis(view.as_of) < millis(shown.as_of)) continue;
      next.set(view.account_id, view);
      const one = this.perAccount.get(view.account_id);
      if (one) one.value = view;
    }
    this.portfolios.value = next;
  }
}

/** The page's one store. */
export const live = new LiveStore();

let unsubscribe: (() => void) | null = null;

/** Read every account's valuation over REST into `live`. */
export async function loadPortfolios(store: LiveStore = live): Promise<void> {
  const views: PortfolioView[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const page: Page<PortfolioView> = await get<Page<PortfolioView>>("/portfolio", { limit: 500, offset });
    views.push(...page.items);
    offset = page.next_offset;
  }
  store.seed(views);
}

/** Start feeding `live` from the stream (once); on every (re)subscription the REST
 * state is read again, so nothing missed while disconnected stays missing. */
export function startLive(): void {
  if (unsubscribe) return;
  unsubscribe = subscribe((message) => {
    if (message.type === "subscribed") void loadPortfolios().catch(() => undefined);
    else live.receive(message);
  });
}

export function stopLive(): void {
  unsubscribe?.();
  unsubscribe = null;
}
