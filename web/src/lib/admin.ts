/** The operators' pages' logic, with no I/O: the shapes of `/api/v1/admin/*`
 * (tradewind/gateway/schemas.py), kill-switch scopes and their targets, role changes,
 * breaker states, nanosecond timestamps, the audit log's filters, the platform's risk
 * ceiling and performance query. */

import { fractionToPercent } from "./limits";

// -- the API's shapes -------------------------------------------------------------------

/** `Page[T]`: `next_offset` is where the next page starts, or null at the end. */
export interface Page<T> {
  items: T[];
  limit: number;
  offset: number;
  next_offset: number | null;
}

/** `AdminUserView`: `email` arrives masked (`a***@example.org`). */
export interface AdminUser {
  id: string;
  email: string;
  roles: string[];
  created_at: string;
  disabled: boolean;
  failed_logins: number;
  locked_until: string | null;
}

export interface KillSwitch {
  scope: string;
  target: string;
  reason: string;
  actor_id: string | null;
  engaged_at: string;
}

/** `published`: whether risk was told on `risk.controls` at once. */
export interface KillSwitchOutcome {
  switch: KillSwitch | null;
  changed: boolean;
  published: boolean;
}

/** One instance of a service; `instance`: the process it runs in (`host:pid`), absent
 * from gateways older than per-instance reporting. */
export interface ServiceHealth {
  name: string;
  instance?: string;
  status: "ready" | "not_ready" | "unknown" | string;
  /** Not in the schema today; shown when a gateway sends it. */
  detail?: unknown;
  details?: unknown;
}

/** A venue's breaker in one execution instance (`host:pid`); `instance` null when no
 * instance reports the venue, absent from gateways older than per-instance reporting. */
export interface Breaker {
  venue: string;
  instance?: string | null;
  state: string;
}

export interface ValuationTotal {
  valuation_asset: string;
  accounts: number;
  equity: string;
  realized_pnl: string;
  unrealized_pnl: string;
  fees: string;
  newest: string;
}

export interface PlatformAnalytics {
  accounts: number;
  bots: Record<string, number>;
  halted_accounts: number;
  halted_by_risk_limits: number;
  by_valuation_asset: ValuationTotal[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  detail: Record<string, unknown>;
  source_ip: string;
}

/** `DeadLetterView`: an event a service gave up on. `dead_lettered_at` is what the
 * gateway sends; `ts_ns` (ns since the epoch) is what the dead-letter service itself
 * keeps (tradewind/services/deadletters/service.py), read too. */
export interface DeadLetter {
  topic: string;
  group: string;
  reason: string;
  attempts: number;
  event_id: string;
  dead_letter_id: string;
  dead_lettered_at?: string;
  ts_ns?: number;
}

// -- kill switches ----------------------------------------------------------------------

/** `KillScopeName`, in the order the form offers them. */
export const KILL_SCOPES = ["global", "venue", "account", "bot"] as const;
export type KillScope = (typeof KILL_SCOPES)[number];

const TARGET_HINTS: Record<KillScope, string> = {
  global: "No target: the global switch halts every order on the platform.",
  venue: "The venue's name, e.g. binance.",
  account: "The exchange account's id.",
  bot: "The bot's id.",
};

export function targetHint(scope: KillScope): string {
  return TARGET_HINTS[scope];
}

/** The API's rule (`_check_target`): no target for `global`, one for any other scope.
 * Returns the message to show, or null when the target fits the scope. */
export function targetProblem(scope: KillScope, target: string): string | null {
  if (scope === "global") return target === "" ? null : "Give no target for the global switch.";
  if (target.trim() === "") return `Give the ${scope === "venue" ? "venue's name" : `${scope}'s id`}.`;
  if (target.length > 64) return "At most 64 characters.";
  return null;
}

/** The body of `POST /admin/kill-switches`. */
export function engageBody(scope: KillScope, target: string, reason: string) {
  return { scope, target: scope === "global" ? "" : target.trim(), reason: reason.trim() };
}

/** What an engage or release did, in a sentence an operator can act on. */
export function outcomeMessage(action: "engage" | "release", outcome: KillSwitchOutcome): string {
  if (!outcome.changed) return "Nothing changed: no such kill switch was engaged.";
  const done = action === "engage" ? "Kill switch engaged." : "Kill switch released.";
  if (outcome.published) return `${done} Risk was told at once.`;
  // The table is the record risk loads on start (store/kill_switch_events.py); without
  // the event the running instances have not heard of the change yet.
  return (
    `${done} Risk was NOT told: the change is recorded, but running risk and execution ` +
    "services only see it when they next load the kill switches (on restart)."
  );
}

export function scopeLabel(switchView: Pick<KillSwitch, "scope" | "target">): string {
  return switchView.scope === "global" ? "everything" : switchView.target;
}

// -- roles ------------------------------------------------------------------------------

/** The roles an admin can tick: every `Role` the API takes (rbac.py). `service` is for
 * programs (an alerting hook), not people; it is granted here too, the API's only way. */
export const EDITABLE_ROLES = ["admin", "operator", "trader", "viewer", "service"] as const;

/** The roles to PUT: the ticked ones, in `EDITABLE_ROLES` order. A role the user holds
 * that the API no longer knows (retired: it grants nothing) is left out, as the API
 * refuses it. */
export function rolesToPut(ticked: ReadonlySet<string>): string[] {
  return EDITABLE_ROLES.filter((role) => ticked.has(role));
}

/** Whether `next` grants other roles than `current` (order does not matter). */
export function rolesDiffer(current: readonly string[], next: readonly string[]): boolean {
  const a = new Set(current);
  const b = new Set(next);
  return a.size !== b.size || [...a].some((role) => !b.has(role));
}

/** Whether some login source must still wait (`locked_until` in the future). */
export function isLocked(user: Pick<AdminUser, "locked_until">, now: Date = new Date()): boolean {
  return user.locked_until !== null && new Date(user.locked_until).getTime() > now.getTime();
}

// -- operations -------------------------------------------------------------------------

export type Tone = "good" | "bad" | "warn" | "unknown";

/** A breaker state (`closed`, `open`, `half_open`, `unknown`) as words and a tone. */
export function breakerLook(state: string): { label: string; tone: Tone } {
  switch (state) {
    case "closed":
      return { label: "Closed (trading)", tone: "good" };
    case "open":
      return { label: "Open (orders refused)", tone: "bad" };
    case "half_open":
    case "half-open":
      return { label: "Half-open (probing)", tone: "warn" };
    case "unknown":
      return { label: "Unknown", tone: "unknown" };
    default:
      return { label: state, tone: "unknown" };
  }
}

export function healthLook(status: string): { label: string; tone: Tone } {
  if (status === "ready") return { label: "Ready", tone: "good" };
  if (status === "not_ready") return { label: "Not ready", tone: "bad" };
  return { label: status === "unknown" ? "Unknown" : status, tone: "unknown" };
}

/** The service's details as one line, whatever shape a gateway sends. */
export function healthDetails(service: ServiceHealth): string {
  const found = service.details ?? service.detail;
  if (found === undefined || found === null || found === "") return "";
  if (typeof found === "string") return found;
  if (typeof found === "object" && !Array.isArray(found)) {
    return Object.entries(found as Record<string, unknown>)
      .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(", ");
  }
  return JSON.stringify(found);
}

// -- time -------------------------------------------------------------------------------

/** Nanoseconds since the epoch as a Date (millisecond precision: what a Date holds). */
export function nsToDate(ns: number | string | bigint): Date {
  if (typeof ns === "bigint") return new Date(Number(ns / 1_000_000n));
  if (typeof ns === "string") return new Date(Number(BigInt(ns) / 1_000_000n));
  return new Date(Math.floor(ns / 1_000_000));
}

/** A timestamp for tables: ISO, to the second, in UTC (operators compare with logs). */
export function utcTime(at: Date | string | null | undefined): string {
  if (at === null || at === undefined) return "";
  const date = typeof at === "string" ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return String(at);
  return date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

/** When a dead letter was dead-lettered, whichever way it says so. */
export function deadLetteredAt(letter: DeadLetter): Date | null {
  if (letter.dead_lettered_at) return new Date(letter.dead_lettered_at);
  if (letter.ts_ns !== undefined) return nsToDate(letter.ts_ns);
  return null;
}

/** Dead letters newest first (the API already sends them so; this keeps it true). */
export function newestFirst(letters: readonly DeadLetter[]): DeadLetter[] {
  const time = (letter: DeadLetter) => deadLetteredAt(letter)?.getTime() ?? 0;
  return [...letters].sort((a, b) => time(b) - time(a));
}

// -- the audit log ----------------------------------------------------------------------

/** The API's filter patterns: an action is `[a-z_.]{1,64}`, an actor id
 * `[A-Za-z0-9_-]{1,64}`. Returns the message to show, or null. */
export function auditFilterProblem(field: "action" | "actor_id", value: string): string | null {
  if (value === "") return null;
  const pattern = field === "action" ? /^[a-z_.]{1,64}$/ : /^[A-Za-z0-9_-]{1,64}$/;
  if (pattern.test(value)) return null;
  return field === "action"
    ? "Lower-case letters, dots and underscores, e.g. kill_switch.engaged."
    : "A user id: letters, digits, - and _.";
}

export function detailText(detail: Record<string, unknown>): string {
  const entries = Object.entries(detail ?? {});
  if (entries.length === 0) return "";
  return entries
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("; ");
}

// -- the platform's risk ceiling --------------------------------------------------------

/** `RiskLimitsView` of `/admin/risk-limits`: fractions of equity as decimal strings
 * (`"0.1"` for 10 %); null: no ceiling on that figure. */
export interface RiskCeiling {
  max_drawdown: string | null;
  max_var_95: string | null;
}

/** The ceiling's figures, in the order the form shows them. */
export const CEILING_FIGURES = ["max_drawdown", "max_var_95"] as const;
export type CeilingFigure = (typeof CEILING_FIGURES)[number];

/** The ceiling in a sentence: "maximum drawdown 12.5 %, maximum 1-minute VaR 95 % no
 * ceiling". (Percent ↔ fraction conversion: lib/limits.ts, shared with the account's and
 * bot's limits.) */
export function ceilingSummary(ceiling: RiskCeiling): string {
  const figure = (fraction: string | null) => (fraction === null ? "no ceiling" : `${fractionToPercent(fraction)} %`);
  return `maximum drawdown ${figure(ceiling.max_drawdown)}, maximum 1-minute VaR 95 % ${figure(ceiling.max_var_95)}`;
}

// -- the platform's performance ---------------------------------------------------------

/** The `resolution` values `/admin/analytics/performance` takes (routes_reads.py). */
export const RESOLUTIONS = ["minute", "hour", "day"] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export interface EquityPoint {
  at: string;
  equity: string;
}

/** `PlatformPerformanceView`: every account valued in `valuation_asset` together over
 * the window `start`–`end`; `metrics` by the names an account's analytics use (floats,
 * ISO times, null where undefined); `equity` one point per period. */
export interface PlatformPerformance {
  valuation_asset: string;
  accounts: number;
  resolution: Resolution;
  start: string;
  end: string;
  metrics: Record<string, number | string | null>;
  equity: EquityPoint[];
}

/** The filters of the performance query as typed in the form. `from`/`to` are
 * `datetime-local` values ("2026-12-01T00:00"), read as UTC by the API (a time without
 * a zone is UTC). */
export interface PerformanceFilter {
  resolution: Resolution;
  from: string;
  to: string;
  valuation_asset: string;
}

/** The query string of `GET /admin/analytics/performance` (empty fields left out). */
export function performanceQuery(filter: PerformanceFilter): Record<string, string> {
  const query: Record<string, string> = { resolution: filter.resolution };
  if (filter.from) query.from = filter.from;
  if (filter.to) query.to = filter.to;
  const asset = filter.valuation_asset.trim();
  if (asset) query.valuation_asset = asset;
  return query;
}

/** The form's own check of the window: the API answers 422 "`from` must be before
 * `to`" too; this says it before asking. */
export function windowProblem(filter: Pick<PerformanceFilter, "from" | "to">): string | null {
  if (filter.from && filter.to && filter.from >= filter.to) return "The start must be before the end.";
  return null;
}

const PERIOD_WORDS: Record<Resolution, string> = { minute: "per minute", hour: "per hour", day: "per day" };

export function periodWords(resolution: string): string {
  return PERIOD_WORDS[resolution as Resolution] ?? `per ${resolution}`;
}
