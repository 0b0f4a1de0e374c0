import { describe, expect, it } from "vitest";
import { collectPages, csvCell, toCsv } from "../src/lib/csv";

describe("csvCell", () => {
  it("leaves plain text alone", () => {
    expect(csvCell("BTCUSDT")).toBe("BTCUSDT");
    expect(csvCell("27123.5")).toBe("27123.5");
    expect(csvCell(null)).toBe("");
  });

  it("quotes commas, quotes and line breaks (RFC 4180)", () => {
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("line\nbreak")).toBe('"line\nbreak"');
  });

  it("defuses cells a spreadsheet would run as formulas", () => {
    expect(csvCell("=HYPERLINK(\"http://x\")")).toBe("\"'=HYPERLINK(\"\"http://x\"\")\"");
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("-0.5")).toBe("'-0.5");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("\tx")).toBe("'\tx");
  });
});

describe("toCsv", () => {
  it("writes a header and CRLF-terminated lines", () => {
    expect(toCsv(["Symbol", "Price"], [["BTCUSDT", "1,000"], ["ETH", null]])).toBe(
      'Symbol,Price\r\nBTCUSDT,"1,000"\r\nETH,\r\n',
    );
  });
});

describe("collectPages", () => {
  const pages = (total: number) => async (offset: number, limit: number) => {
    const items = Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => offset + i);
    return { items, limit, offset, next_offset: offset + limit < total ? offset + limit : null };
  };

  it("reads every page", async () => {
    const { rows, truncated } = await collectPages(pages(1234), 10_000, 500);
    expect(rows).toHaveLength(1234);
    expect(rows[1233]).toBe(1233);
    expect(truncated).toBe(false);
  });

  it("stops at the bound and says there were more", async () => {
    const { rows, truncated } = await collectPages(pages(25_000), 10_000, 500);
    expect(rows).toHaveLength(10_000);
    expect(truncated).toBe(true);
  });
});
