import { describe, expect, it } from "vitest";
import { formatAmount, formatMoney, formatPercent, formatTime, metricRows, shortId, signClass } from "../src/lib/format";

describe("formatAmount", () => {
  it("groups thousands and trims trailing zeros without a float", () => {
    expect(formatAmount("12345.6700")).toBe("12,345.67");
    expect(formatAmount("1000000")).toBe("1,000,000");
    expect(formatAmount("0.000001")).toBe("0.000001");
    expect(formatAmount("12345678901234567890.123456789012345678")).toBe(
      "12,345,678,901,234,567,890.123456789012345678",
    );
  });

  it("keeps the zeros when asked, and the sign", () => {
    expect(formatAmount("10.500", { trim: false })).toBe("10.500");
    expect(formatAmount("-1234.5")).toBe("-1,234.5");
    expect(formatAmount("-0.000")).toBe("0");
    expect(formatAmount("100.")).toBe("100");
  });

  it("passes other text through and writes a dash for nothing", () => {
    expect(formatAmount("1e-7")).toBe("1e-7");
    expect(formatAmount(null)).toBe("—");
    expect(formatAmount("")).toBe("—");
  });
});

describe("signClass", () => {
  it("reads the sign from the string", () => {
    expect(signClass("12.5")).toBe("up");
    expect(signClass("-0.01")).toBe("down");
    expect(signClass("0.000")).toBe("");
    expect(signClass("-0")).toBe("");
    expect(signClass(null)).toBe("");
  });
});

describe("other formats", () => {
  it("money carries its asset", () => {
    expect(formatMoney("1000.50", "USDT")).toBe("1,000.5 USDT");
    expect(formatMoney(null, "USDT")).toBe("—");
  });

  it("percentages, times and short ids", () => {
    expect(formatPercent(-0.1234)).toBe("-12.34 %");
    expect(formatPercent(null)).toBe("—");
    const local = formatTime("2026-12-06T09:00:05Z");
    expect(local).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:05$/);
    expect(formatTime("nonsense")).toBe("nonsense");
    expect(shortId("0123456789abcdef")).toBe("01234567");
    expect(shortId("abc")).toBe("abc");
  });

  it("lists the analytics that exist, in order", () => {
    const rows = metricRows({ sharpe: 1.234, total_return: 0.05, sortino: null, mystery: 3, average_win: "12.500" });
    expect(rows.map((r) => [r.label, r.text])).toEqual([
      ["Total return", "5.00 %"],
      ["Sharpe ratio", "1.23"],
      ["Average win", "12.5"],
    ]);
    expect(metricRows({})).toEqual([]);
  });
});

describe("formatAmount with places", () => {
  it("rounds half up on the digits, never through a float", () => {
    expect(formatAmount("0.99982671680749", { places: 8 })).toBe("0.99982672");
    expect(formatAmount("-0.0001232789588514", { places: 8 })).toBe("-0.00012328");
    expect(formatAmount("9999.999999995", { places: 8 })).toBe("10,000");
    expect(formatAmount("0.000000004", { places: 8 })).toBe("0");
    expect(formatAmount("1.5", { places: 8 })).toBe("1.5");
    expect(formatAmount("12345678901234567890.123456789", { places: 2 })).toBe("12,345,678,901,234,567,890.12");
  });
});
