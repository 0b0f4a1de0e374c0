import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CsvButton, DataTable, Pager, csvRows, type Column } from "../src/components/table";

interface Row {
  symbol: string;
  price: string;
}

const columns: Column<Row>[] = [
  { key: "symbol", header: "Symbol" },
  { key: "price", header: "Price", numeric: true, render: (r) => <b>{r.price}</b> },
  { key: "actions", header: "Actions", render: () => <button type="button">Do</button>, csv: false },
];

afterEach(cleanup);

describe("DataTable", () => {
  it("has a caption, column headers with scope and right-aligned numbers", () => {
    render(<DataTable caption="Fills" columns={columns} rows={[{ symbol: "BTCUSDT", price: "1" }]} />);
    const table = screen.getByRole("table", { name: "Fills" });
    const headers = table.querySelectorAll("th");
    expect([...headers].map((h) => h.getAttribute("scope"))).toEqual(["col", "col", "col"]);
    expect(headers[1].className).toBe("num");
    expect(table.querySelector("td.num")?.textContent).toBe("1");
    expect(table.closest(".table-wrap")).not.toBeNull();
  });

  it("says so when there are no rows", () => {
    render(<DataTable caption="Fills" columns={columns} rows={[]} empty="No fills yet." />);
    expect(screen.getByText("No fills yet.")).toBeTruthy();
  });
});

describe("Pager", () => {
  it("shows the range and moves by a page", () => {
    const onOffset = vi.fn();
    render(<Pager offset={50} limit={50} count={50} nextOffset={100} onOffset={onOffset} />);
    expect(screen.getByRole("status").textContent).toBe("Showing 51–100");
    fireEvent.click(screen.getByRole("button", { name: "Next page" }));
    fireEvent.click(screen.getByRole("button", { name: "Previous page" }));
    expect(onOffset.mock.calls).toEqual([[100], [0]]);
  });

  it("disables the buttons at the ends", () => {
    render(<Pager offset={0} limit={50} count={3} nextOffset={null} onOffset={() => undefined} />);
    expect((screen.getByRole("button", { name: "Previous page" }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole("button", { name: "Next page" }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("CSV export", () => {
  it("exports the raw fields of the exported columns", () => {
    expect(csvRows(columns, [{ symbol: "=cmd", price: "1.50" }])).toEqual({
      header: ["Symbol", "Price"],
      lines: [["=cmd", "1.50"]],
    });
  });

  it("downloads every page through an object URL", async () => {
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return "blob:x";
    });
    URL.revokeObjectURL = vi.fn();
    const fetchPage = vi.fn(async (offset: number) => ({
      items: offset === 0 ? [{ symbol: "A", price: "1" }] : [{ symbol: "B", price: "-2" }],
      limit: 1,
      offset,
      next_offset: offset === 0 ? 1 : null,
    }));
    render(<CsvButton filename="fills.csv" columns={columns} fetchPage={fetchPage} />);
    fireEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    await screen.findByText("Exported 2 rows.");
    const text = await created[0].text();
    expect(text.replace(/^\ufeff/, "")).toBe("Symbol,Price\r\nA,1\r\nB,'-2\r\n");
  });
});
