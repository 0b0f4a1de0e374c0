import { describe, expect, it } from "vitest";
import {
  auditFilterProblem,
  breakerLook,
  deadLetteredAt,
  detailText,
  engageBody,
  healthDetails,
  healthLook,
  isLocked,
  newestFirst,
  nsToDate,
  outcomeMessage,
  rolesDiffer,
  rolesToPut,
  targetHint,
  targetProblem,
  utcTime,
  type DeadLetter,
} from "../src/lib/admin";

describe("kill-switch targets", () => {
  it("wants no target for the global switch and one for every other scope", () => {
    expect(targetProblem("global", "")).toBeNull();
    expect(targetProblem("global", "binance")).toMatch(/no target/);
    expect(targetProblem("venue", "")).toMatch(/venue's name/);
    expect(targetProblem("account", "  ")).toMatch(/account's id/);
    expect(targetProblem("bot", "b1")).toBeNull();
    expect(targetProblem("bot", "x".repeat(65))).toMatch(/64/);
  });

  it("hints what each scope's target is", () => {
    expect(targetHint("global")).toMatch(/No target/);
    expect(targetHint("venue")).toMatch(/venue/);
    expect(targetHint("account")).toMatch(/account's id/);
    expect(targetHint("bot")).toMatch(/bot's id/);
  });

  it("sends an empty target for global whatever was typed, and trims the rest", () => {
    expect(engageBody("global", "left over", " halt ")).toEqual({ scope: "global", target: "", reason: "halt" });
    expect(engageBody("venue", " binance ", "maintenance")).toEqual({ scope: "venue", target: "binance", reason: "maintenance" });
  });

  it("says when risk was not told", () => {
    const sw = { scope: "global", target: "", reason: "r", actor_id: "u", engaged_at: "2026-01-01T00:00:00Z" };
    expect(outcomeMessage("engage", { switch: sw, changed: true, published: true })).toMatch(/told at once/);
    expect(outcomeMessage("engage", { switch: sw, changed: true, published: false })).toMatch(/NOT told.*restart/);
    expect(outcomeMessage("release", { switch: null, changed: false, published: false })).toMatch(/Nothing changed/);
  });
});

describe("roles", () => {
  it("puts the ticked roles in a fixed order, service included", () => {
    expect(rolesToPut(new Set(["operator", "admin"]))).toEqual(["admin", "operator"]);
    expect(rolesToPut(new Set(["service", "trader"]))).toEqual(["trader", "service"]);
    expect(rolesToPut(new Set())).toEqual([]);
  });

  it("leaves out a role the API no longer knows (it grants nothing, and the API refuses it)", () => {
    expect(rolesToPut(new Set(["trader", "retired"]))).toEqual(["trader"]);
  });

  it("compares roles as sets", () => {
    expect(rolesDiffer(["admin", "trader"], ["trader", "admin"])).toBe(false);
    expect(rolesDiffer(["trader"], ["trader", "viewer"])).toBe(true);
    expect(rolesDiffer(["trader"], ["viewer"])).toBe(true);
  });

  it("counts a user locked only while the wait lasts", () => {
    const now = new Date("2026-01-01T12:00:00Z");
    expect(isLocked({ locked_until: null }, now)).toBe(false);
    expect(isLocked({ locked_until: "2026-01-01T11:59:00Z" }, now)).toBe(false);
    expect(isLocked({ locked_until: "2026-01-01T12:01:00Z" }, now)).toBe(true);
  });
});

describe("operations", () => {
  it("names every breaker state in words, not only a colour", () => {
    expect(breakerLook("closed")).toEqual({ label: "Closed (trading)", tone: "good" });
    expect(breakerLook("open").tone).toBe("bad");
    expect(breakerLook("half_open")).toEqual({ label: "Half-open (probing)", tone: "warn" });
    expect(breakerLook("unknown").label).toBe("Unknown");
    expect(breakerLook("tripped")).toEqual({ label: "tripped", tone: "unknown" });
  });

  it("names health states and shows details of any shape", () => {
    expect(healthLook("ready").tone).toBe("good");
    expect(healthLook("not_ready").label).toBe("Not ready");
    expect(healthDetails({ name: "risk", status: "ready" })).toBe("");
    expect(healthDetails({ name: "risk", status: "ready", details: { lag: 3, bus: "ok" } })).toBe("lag: 3, bus: ok");
    expect(healthDetails({ name: "risk", status: "ready", detail: "warming up" })).toBe("warming up");
  });
});

describe("time", () => {
  it("turns nanoseconds since the epoch into a Date", () => {
    expect(nsToDate(1_767_225_600_123_456_789).toISOString()).toBe("2026-01-01T00:00:00.123Z");
    expect(nsToDate("1767225600123456789").toISOString()).toBe("2026-01-01T00:00:00.123Z");
    expect(nsToDate(1_767_225_600_123_456_789n).toISOString()).toBe("2026-01-01T00:00:00.123Z");
  });

  it("writes UTC times to the second", () => {
    expect(utcTime("2026-01-01T10:20:30.456Z")).toBe("2026-01-01 10:20:30 UTC");
    expect(utcTime(null)).toBe("");
    expect(utcTime("not a time")).toBe("not a time");
  });
});

describe("dead letters", () => {
  const letter = (ts_ns: number, id: string): DeadLetter => ({
    topic: "orders.intents",
    group: "risk",
    reason: "boom",
    attempts: 5,
    event_id: `e-${id}`,
    dead_letter_id: id,
    ts_ns,
  });

  it("reads the gateway's time or the service's nanoseconds", () => {
    expect(deadLetteredAt({ ...letter(0, "a"), ts_ns: undefined, dead_lettered_at: "2026-01-01T00:00:01Z" })?.toISOString()).toBe(
      "2026-01-01T00:00:01.000Z",
    );
    expect(deadLetteredAt(letter(1_767_225_600_000_000_000, "a"))?.toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(deadLetteredAt({ ...letter(0, "a"), ts_ns: undefined })).toBeNull();
  });

  it("orders them newest first", () => {
    expect(newestFirst([letter(1e6, "a"), letter(3e6, "c"), letter(2e6, "b")]).map((l) => l.dead_letter_id)).toEqual(["c", "b", "a"]);
  });
});

describe("audit filters", () => {
  it("checks the API's patterns before asking", () => {
    expect(auditFilterProblem("action", "")).toBeNull();
    expect(auditFilterProblem("action", "kill_switch.engaged")).toBeNull();
    expect(auditFilterProblem("action", "Kill Switch")).toMatch(/Lower-case/);
    expect(auditFilterProblem("actor_id", "u_1-2")).toBeNull();
    expect(auditFilterProblem("actor_id", "a b")).toMatch(/user id/);
  });

  it("shows an entry's detail as one line", () => {
    expect(detailText({})).toBe("");
    expect(detailText({ reason: "halt", from: ["trader"] })).toBe('reason: halt; from: ["trader"]');
  });
});
