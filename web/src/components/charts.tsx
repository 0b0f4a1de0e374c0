/** Charts (TradingView's lightweight-charts): `PriceChart` (candles with the fills as
 * markers, or the fill prices as a line when there are no candles) and `LineChart`
 * (equity, drawdown, PnL). Each takes the width of its container and follows it,
 * disposes of itself on unmount, is labelled for screen readers and carries a short
 * text summary of what it draws; colours come from the page's CSS variables, so they
 * read in light and dark themes. */

import {
  AreaSeries,
  CandlestickSeries,
  ColorType,
  LineSeries,
  createChart,
  createSeriesMarkers,
  type DeepPartial,
  type ChartOptions,
  type IChartApi,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef } from "preact/hooks";
import { fillMarkers, priceFormatFor, toBars, type Candle, type FillMark, type Point } from "../lib/series";
import "./data.css";

function cssVar(name: string, fallback: string): string {
  if (typeof getComputedStyle !== "function") return fallback;
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function themeOptions(): DeepPartial<ChartOptions> {
  const text = cssVar("--text", "#1b1f24");
  const line = cssVar("--line", "#d8dee4");
  return {
    layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: text, attributionLogo: false },
    grid: { vertLines: { color: line }, horzLines: { color: line } },
    rightPriceScale: { borderColor: line },
    timeScale: { borderColor: line, timeVisible: true, secondsVisible: false },
  };
}

/** Whether the browser can draw on a canvas (not in tests' simulated DOM). */
function canDraw(): boolean {
  try {
    return Boolean(document.createElement("canvas").getContext("2d"));
  } catch {
    return false;
  }
}

/** Creates a chart in the element, keeps its width and theme, removes it on unmount. */
function useChart(draw: (chart: IChartApi) => void, deps: unknown[]) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element || !canDraw()) return;
    let chart: IChartApi;
    try {
      chart = createChart(element, { ...themeOptions(), autoSize: true });
    } catch {
      return; // no canvas (tests, very old browsers): the text summary remains
    }
    draw(chart);
    chart.timeScale().fitContent();
    const scheme = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
    const retheme = () => chart.applyOptions(themeOptions());
    scheme?.addEventListener("change", retheme);
    return () => {
      scheme?.removeEventListener("change", retheme);
      chart.remove();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return box;
}

const seconds = (t: number) => t as UTCTimestamp;

export interface PriceChartProps {
  candles: Candle[];
  fills: FillMark[];
  /** What the chart is of, for its label: "BTCUSDT". */
  symbol: string;
  /** Small print under the chart (e.g. why there are no candles). */
  note?: string;
}

export function PriceChart({ candles, fills, symbol, note }: PriceChartProps) {
  const bars = toBars(candles);
  const markers = fillMarkers(fills, bars.map((b) => b.time));
  const up = cssVar("--up", "#116329");
  const down = cssVar("--down", "#b42318");
  const box = useChart(
    (chart) => {
      if (bars.length > 0) {
        const series = chart.addSeries(CandlestickSeries, {
          upColor: up, downColor: down, borderUpColor: up, borderDownColor: down,
          wickUpColor: up, wickDownColor: down,
          priceFormat: priceFormatFor(bars.flatMap((b) => [b.low, b.high])),
        }); // fmt: skip
        series.setData(bars.map((b) => ({ ...b, time: seconds(b.time) })));
        createSeriesMarkers(series, markers.map((m) => marker(m, up, down)));
      } else {
        const points = fillPoints(fills);
        const series = chart.addSeries(LineSeries, {
          color: cssVar("--accent", "#0b5cad"),
          lineWidth: 2,
          priceFormat: priceFormatFor(points.map((p) => p.value)),
        });
        series.setData(points.map((p) => ({ time: seconds(p.time), value: p.value })));
        createSeriesMarkers(series, markers.map((m) => marker(m, up, down)));
      }
    },
    [JSON.stringify(bars), JSON.stringify(markers)],
  );
  const last = bars.length > 0 ? String(bars[bars.length - 1].close) : (newest(fills)?.price ?? null);
  const buys = markers.filter((m) => m.side === "buy").length;
  const summary =
    `${symbol}: ${last === null ? "no price yet" : `last price ${last}`}, ` +
    `${fills.length} fill${fills.length === 1 ? "" : "s"} (${buys} buy, ${fills.length - buys} sell)` +
    (bars.length > 0 ? `, ${bars.length} candles.` : ".");
  return (
    <figure class="chart-box">
      <div class="chart" ref={box} role="img" aria-label={`Price chart of ${symbol} with the bot's fills`} />
      <figcaption class="visually-hidden">{summary}</figcaption>
      {note && <p class="hint">{note}</p>}
    </figure>
  );
}

function marker(m: ReturnType<typeof fillMarkers>[number], up: string, down: string) {
  return {
    time: seconds(m.time),
    position: m.position,
    shape: m.shape,
    color: m.side === "buy" ? up : down,
    text: m.side === "buy" ? "B" : "S",
  };
}

function newest(fills: FillMark[]): FillMark | undefined {
  return fills.reduce<FillMark | undefined>((a, b) => (!a || b.executed_at > a.executed_at ? b : a), undefined);
}

function fillPoints(fills: FillMark[]): Point[] {
  const bySecond = new Map<number, number>();
  for (const fill of [...fills].sort((a, b) => a.executed_at.localeCompare(b.executed_at))) {
    const time = Math.floor(Date.parse(fill.executed_at) / 1000);
    const price = Number(fill.price);
    if (Number.isFinite(time) && Number.isFinite(price)) bySecond.set(time, price);
  }
  return [...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
}

export interface LineChartProps {
  points: Point[];
  /** The chart's accessible name: "Equity of Main account". */
  label: string;
  /** The last value as text for the summary (e.g. the exact decimal string). */
  lastText?: string;
  /** "percent" for drawdowns (values are fractions). */
  format?: "price" | "percent";
  tone?: "accent" | "down";
  small?: boolean;
}

export function LineChart({ points, label, lastText, format = "price", tone = "accent", small }: LineChartProps) {
  const color = cssVar(tone === "down" ? "--down" : "--accent", tone === "down" ? "#b42318" : "#0b5cad");
  const scaled = format === "percent" ? points.map((p) => ({ ...p, value: p.value * 100 })) : points;
  const box = useChart(
    (chart) => {
      const series = chart.addSeries(AreaSeries, {
        lineColor: color,
        topColor: `${color}55`,
        bottomColor: `${color}08`,
        lineWidth: 2,
        invertFilledArea: tone === "down",
        priceFormat:
          format === "percent"
            ? { type: "percent", precision: 2, minMove: 0.01 }
            : priceFormatFor(scaled.map((p) => p.value)),
      });
      series.setData(scaled.map((p) => ({ time: seconds(p.time), value: p.value })));
    },
    [JSON.stringify(scaled), color],
  );
  const last = points[points.length - 1];
  const lastValue =
    lastText ?? (last === undefined ? null : format === "percent" ? `${(last.value * 100).toFixed(2)} %` : String(last.value));
  const summary = `${label}: ${points.length} points${lastValue === null ? "" : `, latest ${lastValue}`}.`;
  return (
    <figure class="chart-box">
      <div class={small ? "chart small" : "chart"} ref={box} role="img" aria-label={label} />
      <figcaption class="visually-hidden">{summary}</figcaption>
    </figure>
  );
}
