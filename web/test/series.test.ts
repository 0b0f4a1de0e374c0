import { describe, expect, it } from "vitest";
import { axisPrecision, drawdown, fillMarkers, maxDrawdown, secondsOf, toBars, toPoints } from "../src/lib/series";

const at = (s: number) => new Date(s * 1000).toISOString();

describe("toPoints", () => {
  it("sorts by time, keeps one point per second and drops what is not a number", () => {
    const rows = [
      { at: at(20), equity: "110" },
      { at: at(10), equity: "100" },
      { at: at(20), equity: "111" },
      { at: at(30), equity: "n/a" },
    ];
    expect(toPoints(rows, (r) => r.at, (r) => r.equity)).toEqual([
      { time: 10, value: 100 },
      { time: 20, value: 111 },
    ]);
  });
});

describe("drawdown", () => {
  it("is the fall from the running peak over that peak", () => {
    const series = [100, 120, 90, 60, 130, 117].map((value, i) => ({ time: i, value }));
    expect(drawdown(series).map((p) => Number(p.value.toFixed(4)))).toEqual([0, 0, -0.25, -0.5, 0, -0.1]);
    expect(maxDrawdown(series)).toBeCloseTo(-0.5);
  });

  it("is zero before a positive peak and for an empty series", () => {
    expect(drawdown([{ time: 1, value: 0 }, { time: 2, value: -5 }]).map((p) => p.value)).toEqual([0, 0]);
    expect(maxDrawdown([])).toBe(0);
  });
});

describe("candles", () => {
  it("reads ISO, seconds and milliseconds times and decimal strings", () => {
    expect(secondsOf("1970-01-01T00:01:00Z")).toBe(60);
    expect(secondsOf(1_700_000_000)).toBe(1_700_000_000);
    expect(secondsOf(1_700_000_000_123)).toBe(1_700_000_000);
    expect(
      toBars([
        { ts: 600, open: "2", high: "3", low: "1", close: "2.5", volume: "9" },
        { ts: 300, open: "1", high: "2", low: "0.5", close: "2", volume: "1" },
        { ts: 900, open: "x", high: "3", low: "1", close: "2" },
      ]),
    ).toEqual([
      { time: 300, open: 1, high: 2, low: 0.5, close: 2 },
      { time: 600, open: 2, high: 3, low: 1, close: 2.5 },
    ]);
  });
});

describe("fillMarkers", () => {
  const fill = (s: number, side: string) => ({ executed_at: at(s), side, price: "10", quantity: "1" });

  it("puts each fill on the bar it happened in: buys below, sells above, sorted", () => {
    const markers = fillMarkers([fill(650, "SELL"), fill(310, "BUY"), fill(100, "BUY"), fill(2000, "BUY")], [300, 600, 900]);
    expect(markers.map((m) => [m.time, m.position, m.shape])).toEqual([
      [300, "belowBar", "arrowUp"],
      [300, "belowBar", "arrowUp"],
      [600, "aboveBar", "arrowDown"],
      [900, "belowBar", "arrowUp"],
    ]);
    expect(markers[2].text).toBe("Sell 1 @ 10");
  });

  it("uses the fill's own time without bars", () => {
    expect(fillMarkers([fill(42, "BUY")], []).map((m) => m.time)).toEqual([42]);
  });
});

describe("axisPrecision", () => {
  it("gives small prices and narrow ranges enough decimals", () => {
    expect(axisPrecision([27000, 27500])).toBe(2);
    expect(axisPrecision([0.0752, 0.0759])).toBe(6);
    expect(axisPrecision([0.9988, 0.9988])).toBe(3);
    expect(axisPrecision([])).toBe(2);
    expect(axisPrecision([1e-15, 2e-15])).toBe(10);
  });
});
