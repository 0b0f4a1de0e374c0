/** Chart series from the API's time series. Amounts become floats here and only here:
 * they are chart coordinates, never shown as numbers. */

import { epochSeconds } from "./format";

/** A point of a line chart: `time` in seconds since the epoch (UTC). */
export interface Point {
  time: number;
  value: number;
}

/** `[{at, equity}]` (or any field) → points, sorted by time, one per second (the last
 * wins), unparseable values left out. */
export function toPoints<T>(rows: T[], at: (row: T) => string, value: (row: T) => string | number): Point[] {
  const bySecond = new Map<number, number>();
  for (const row of rows) {
    const time = epochSeconds(at(row));
    const number = Number(value(row));
    if (Number.isFinite(time) && Number.isFinite(number)) bySecond.set(time, number);
  }
  return [...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([time, v]) => ({ time, value: v }));
}

/** The drawdown at each point: the fall from the highest equity so far, as a fraction
 * of that peak (0 at a new high, -0.25 a quarter below it). Before a positive peak the
 * drawdown is 0 (a fall from nothing is not a fraction of anything). */
export function drawdown(points: Point[]): Point[] {
  let peak = -Infinity;
  return points.map(({ time, value }) => {
    peak = Math.max(peak, value);
    return { time, value: peak > 0 ? value / peak - 1 : 0 };
  });
}

/** The deepest drawdown of a series (0 without a fall). */
export function maxDrawdown(points: Point[]): number {
  return drawdown(points).reduce((low, p) => Math.min(low, p.value), 0);
}

/** A candle from `GET /accounts/{id}/candles` (`ts` an ISO time or epoch seconds or
 * milliseconds; prices as decimal strings or numbers). */
export interface Candle {
  ts: string | number;
  open: string | number;
  high: string | number;
  low: string | number;
  close: string | number;
  volume?: string | number;
}

/** A candle as the chart takes it: `time` in epoch seconds, prices as floats. */
export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export function secondsOf(ts: string | number): number {
  if (typeof ts === "number") return Math.floor(ts > 1e11 ? ts / 1000 : ts);
  return /^\d+(\.\d+)?$/.test(ts) ? secondsOf(Number(ts)) : epochSeconds(ts);
}

/** Candles → bars, sorted and one per time (the last wins), broken ones left out. */
export function toBars(candles: Candle[]): Bar[] {
  const byTime = new Map<number, Bar>();
  for (const c of candles) {
    const bar = {
      time: secondsOf(c.ts),
      open: Number(c.open),
      high: Number(c.high),
      low: Number(c.low),
      close: Number(c.close),
    };
    if (Object.values(bar).every(Number.isFinite)) byTime.set(bar.time, bar);
  }
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/** What a chart needs of a fill. */
export interface FillMark {
  executed_at: string;
  side: string;
  price: string;
  quantity: string;
}

export interface Marker {
  time: number;
  position: "belowBar" | "aboveBar";
  shape: "arrowUp" | "arrowDown";
  side: "buy" | "sell";
  text: string;
}

/** One marker per fill, on the bar it happened in (the last bar that opened at or
 * before it; `times` sorted ascending), or at its own second when there are no bars;
 * buys ▲ below the bar, sells ▼ above. Sorted by time, as the chart wants them. */
export function fillMarkers(fills: FillMark[], times: number[]): Marker[] {
  const markers = fills.map((fill) => {
    const at = epochSeconds(fill.executed_at);
    const time = times.length === 0 ? at : barTimeOf(at, times);
    const buy = fill.side.toUpperCase() === "BUY";
    return {
      time,
      position: buy ? "belowBar" : "aboveBar",
      shape: buy ? "arrowUp" : "arrowDown",
      side: buy ? "buy" : "sell",
      text: `${buy ? "Buy" : "Sell"} ${fill.quantity} @ ${fill.price}`,
    } satisfies Marker;
  });
  return markers.sort((a, b) => a.time - b.time);
}

function barTimeOf(at: number, times: number[]): number {
  let low = 0;
  let high = times.length - 1;
  if (at <= times[0]) return times[0];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (times[mid] <= at) low = mid;
    else high = mid - 1;
  }
  return times[low];
}

/** Decimals for a price axis over `values`: enough to tell about a hundredth of their
 * range apart (2 to 10), so a 0.0756 BTC price does not read "0.08". */
export function axisPrecision(values: number[]): number {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return 2;
  const high = Math.max(...finite);
  const low = Math.min(...finite);
  const span = high - low || Math.abs(high) || 1;
  return Math.min(10, Math.max(2, Math.ceil(-Math.log10(span / 100))));
}

/** A lightweight-charts price format with `axisPrecision` decimals. */
export function priceFormatFor(values: number[]): { type: "price"; precision: number; minMove: number } {
  const precision = axisPrecision(values);
  return { type: "price", precision, minMove: 10 ** -precision };
}
