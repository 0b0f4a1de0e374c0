/** The platform ceiling's and performance query's logic (lib/admin.ts), and the
 * percent ↔ fraction conversion the ceiling's form uses (lib/limits.ts, shared with the
 * owners' limits): tested here for what the ceiling needs of it. */

import { describe, expect, it } from "vitest";
import { ceilingSummary, performanceQuery, periodWords, windowProblem } from "../src/lib/admin";
import { fractionToPercent, percentToFraction } from "../src/lib/limits";

const fractionOf = (typed: string) => {
  const input = percentToFraction(typed);
  return input.ok ? input.fraction : `error: ${input.error}`;
};

describe("a typed percentage as the fraction the API takes", () => {
  it.each([
    ["12.5", "0.125"],
    ["10", "0.1"],
    ["1", "0.01"],
    ["0.5", "0.005"],
    [".5", "0.005"],
    ["5.", "0.05"],
    ["99.99", "0.9999"],
    ["012.50", "0.125"],
    ["0.0001", "0.000001"],
  ])("%s %% is %s", (typed, fraction) => {
    expect(percentToFraction(typed)).toEqual({ ok: true, fraction });
  });

  it("computes on the digits, where a float would add noise", () => {
    // 0.07 / 100 is 0.0007000000000000001 in floating point, 1.1 / 100 0.011000000000000001.
    expect(fractionOf("0.07")).toBe("0.0007");
    expect(fractionOf("1.1")).toBe("0.011");
    expect(fractionOf("33.3333333333333333")).toBe("0.333333333333333333");
    expect(fractionOf("99.9999999999999999")).toBe("0.999999999999999999");
    expect(fractionOf("12.50000000000000000000")).toBe("0.125");
  });

  it("refuses more decimals than the API keeps (a fraction's 18)", () => {
    expect(percentToFraction("0.00000000000000001").ok).toBe(false);
    expect(fractionOf("0.0000000000000001")).toBe("0.000000000000000001");
  });

  it("takes spaces and a trailing percent sign", () => {
    expect(fractionOf(" 12.5 ")).toBe("0.125");
    expect(fractionOf("12.5%")).toBe("0.125");
    expect(fractionOf("12.5 %")).toBe("0.125");
  });

  it("reads an empty field as no ceiling", () => {
    expect(percentToFraction("")).toEqual({ ok: true, fraction: null });
    expect(percentToFraction("   ")).toEqual({ ok: true, fraction: null });
  });

  it("keeps the API's range: above 0 and below 100 %", () => {
    for (const typed of ["0", "0.000", "000"]) expect(fractionOf(typed), typed).toMatch(/^error: .*above 0/i);
    for (const typed of ["100", "100.0", "150", "1000"]) expect(fractionOf(typed), typed).toMatch(/^error: .*below 100/i);
    expect(fractionOf("99.9999999999999999")).toBe("0.999999999999999999");
    expect(fractionOf("0.0000000000000001")).toBe("0.000000000000000001");
  });

  it("refuses what is not a plain unsigned decimal", () => {
    for (const typed of ["-5", "+5", "1e1", "abc", "1.2.3", ".", "12 5", "0x10", "Infinity", "NaN", "5%%"]) {
      expect(fractionOf(typed), typed).toMatch(/^error: /);
    }
  });
});

describe("the API's fraction as a percentage", () => {
  it.each([
    ["0.125000000000000000", "12.5"],
    ["0.125", "12.5"],
    ["0.1", "10"],
    ["0.01", "1"],
    ["0.001", "0.1"],
    ["0.00001", "0.001"],
    ["0.0007", "0.07"],
    ["0.999999999999999999", "99.9999999999999999"],
    [".5", "50"],
    ["1", "100"],
  ])("%s is %s %%", (fraction, percent) => {
    expect(fractionToPercent(fraction)).toBe(percent);
  });

  it("shows no ceiling as an empty field", () => {
    expect(fractionToPercent(null)).toBe("");
    expect(fractionToPercent(undefined)).toBe("");
  });

  it("leaves text it cannot read as it is", () => {
    expect(fractionToPercent("1E-7")).toBe("1E-7");
    expect(fractionToPercent("-0.1")).toBe("-0.1");
  });

  it("round-trips through the form unchanged", () => {
    for (const typed of ["12.5", "0.07", "1.1", "50", "0.0001", "33.3333333333333333", "99.99"]) {
      const fraction = fractionOf(typed);
      expect(fractionToPercent(fraction), typed).toBe(typed);
      expect(fractionOf(fractionToPercent(fraction)), typed).toBe(fraction);
    }
  });
});

describe("the ceiling in a sentence", () => {
  it("names each figure and says when it has no ceiling", () => {
    expect(ceilingSummary({ max_drawdown: "0.125000000000000000", max_var_95: null })).toBe(
      "maximum drawdown 12.5 %, maximum 1-minute VaR 95 % no ceiling",
    );
    expect(ceilingSummary({ max_drawdown: null, max_var_95: "0.02" })).toBe(
      "maximum drawdown no ceiling, maximum 1-minute VaR 95 % 2 %",
    );
  });
});

describe("the platform performance query", () => {
  it("sends the resolution and only the filters given", () => {
    expect(performanceQuery({ resolution: "hour", from: "", to: "", valuation_asset: "  " })).toEqual({ resolution: "hour" });
    expect(
      performanceQuery({ resolution: "day", from: "2026-01-01T00:00", to: "2026-02-01T00:00", valuation_asset: " USDT " }),
    ).toEqual({ resolution: "day", from: "2026-01-01T00:00", to: "2026-02-01T00:00", valuation_asset: "USDT" });
  });

  it("wants the start before the end when both are given", () => {
    expect(windowProblem({ from: "", to: "" })).toBeNull();
    expect(windowProblem({ from: "2026-01-01T00:00", to: "" })).toBeNull();
    expect(windowProblem({ from: "2026-01-01T00:00", to: "2026-01-02T00:00" })).toBeNull();
    expect(windowProblem({ from: "2026-01-02T00:00", to: "2026-01-01T00:00" })).toMatch(/before the end/);
    expect(windowProblem({ from: "2026-01-01T00:00", to: "2026-01-01T00:00" })).toMatch(/before the end/);
  });

  it("words the period of the returns", () => {
    expect(periodWords("minute")).toBe("per minute");
    expect(periodWords("day")).toBe("per day");
    expect(periodWords("week")).toBe("per week");
  });
});
