/** How amounts, times and ids are written on screen. Amounts arrive as decimal strings
 * and are shown as those strings: digits are grouped and trailing zeros trimmed by
 * editing the text, never through a float. */

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** `"12345.6700"` → `"12,345.67"`; `trim: false` keeps the zeros. Text that is not a
 * plain decimal (or null) is returned as is ("—" for null/empty). */
export function formatAmount(
  value: string | null | undefined,
  options: { trim?: boolean; places?: number } = {},
): string {
  if (value === null || value === undefined || value === "") return "—";
  const parts = DECIMAL.exec(value.trim());
  if (!parts || (parts[2] === "" && (parts[3] ?? "") === "")) return value;
  const [, sign] = parts;
  let [, , whole, fraction = ""] = parts;
  if (options.places !== undefined && fraction.length > options.places) {
    [whole, fraction] = roundHalfUp(whole, fraction, options.places);
  }
  const digits = (options.trim ?? true) ? fraction.replace(/0+$/, "") : fraction;
  const grouped = (whole.replace(/^0+(?=\d)/, "") || "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const isZero = /^0*$/.test(whole) && /^0*$/.test(fraction);
  return `${isZero ? "" : sign === "+" ? "" : sign}${grouped}${digits ? `.${digits}` : ""}`;
}

/** `whole.fraction` rounded half away from zero to `places` decimals, on the digits
 * (BigInt), never through a float. */
export function roundHalfUp(whole: string, fraction: string, places: number): [string, string] {
  const kept = fraction.slice(0, places);
  let digits = BigInt((whole || "0") + kept);
  if (Number(fraction[places] ?? "0") >= 5) digits += 1n;
  const text = digits.toString().padStart(places + 1, "0");
  return [text.slice(0, text.length - places), text.slice(text.length - places)];
}

/** An amount followed by its asset: `"1,234.5 USDT"`. */
export function formatMoney(value: string | null | undefined, asset?: string | null): string {
  const text = formatAmount(value);
  return asset && text !== "—" ? `${text} ${asset}` : text;
}

/** "up", "down" or "" from the sign of a decimal string (zero is neither). */
export function signClass(value: string | null | undefined): "up" | "down" | "" {
  if (!value) return "";
  const text = value.trim();
  if (!/[1-9]/.test(text)) return "";
  return text.startsWith("-") ? "down" : "up";
}

/** A ratio (0.0123) as a percentage ("1.23 %"); for analytics figures, which are floats. */
export function formatPercent(ratio: number | null | undefined, digits = 2): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "—";
  return `${(ratio * 100).toFixed(digits)} %`;
}

/** An ISO time in the viewer's local time zone: "2026-12-06 09:00:05". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ` +
    `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
  );
}

/** The first 8 characters of an id (the full id belongs in a title attribute). */
export function shortId(id: string | null | undefined): string {
  if (!id) return "—";
  return id.length > 10 ? id.slice(0, 8) : id;
}

/** Seconds since the epoch (UTC) of an ISO time, for chart coordinates. */
export function epochSeconds(iso: string): number {
  return Math.floor(new Date(iso).getTime() / 1000);
}

type MetricKind = "percent" | "ratio" | "count" | "money" | "time" | "seconds";

/** The analytics figures worth showing, in reading order, with how to write each
 * (names as gateway/routes_reads.py and domain/performance.py give them). */
const METRICS: [string, string, MetricKind][] = [
  ["total_return", "Total return", "percent"],
  ["annual_return", "Annualised return", "percent"],
  ["volatility", "Volatility", "percent"],
  ["sharpe", "Sharpe ratio", "ratio"],
  ["sortino", "Sortino ratio", "ratio"],
  ["calmar", "Calmar ratio", "ratio"],
  ["max_drawdown", "Maximum drawdown", "percent"],
  ["current_drawdown", "Current drawdown", "percent"],
  ["var_95", "VaR (95 %)", "percent"],
  ["cvar_95", "CVaR (95 %)", "percent"],
  ["var_99", "VaR (99 %)", "percent"],
  ["cvar_99", "CVaR (99 %)", "percent"],
  ["best_period", "Best period", "percent"],
  ["worst_period", "Worst period", "percent"],
  ["trades", "Trades", "count"],
  ["win_rate", "Win rate", "percent"],
  ["profit_factor", "Profit factor", "ratio"],
  ["average_win", "Average win", "money"],
  ["average_loss", "Average loss", "money"],
  ["turnover", "Turnover", "ratio"],
  ["periods", "Periods", "count"],
];

/** The figures present in `metrics` (null and unknown ones left out), as label and
 * text: `[{name: "sharpe", label: "Sharpe ratio", text: "1.42"}]`. */
export function metricRows(
  metrics: Record<string, number | string | null | undefined>,
): { name: string; label: string; text: string }[] {
  const rows: { name: string; label: string; text: string }[] = [];
  for (const [name, label, kind] of METRICS) {
    const value = metrics[name];
    if (value === null || value === undefined || value === "") continue;
    rows.push({ name, label, text: metricText(value, kind) });
  }
  return rows;
}

function metricText(value: number | string, kind: MetricKind): string {
  if (typeof value === "string") return kind === "money" ? formatAmount(value) : value;
  if (!Number.isFinite(value)) return String(value);
  switch (kind) {
    case "percent":
      return formatPercent(value);
    case "ratio":
      return value.toFixed(2);
    case "count":
      return value.toLocaleString("en");
    default:
      return String(value);
  }
}
