/** Tables of API data: `DataTable` (accessible: a caption, column headers with
 * scope, amounts right-aligned), `Pager` (the API's limit/offset paging) and
 * `CsvButton` (the rows, or every page of them, as a CSV file).
 *
 *     const columns: Column<FillView>[] = [
 *       { key: "symbol", header: "Symbol" },
 *       { key: "price", header: "Price", numeric: true, render: (f) => formatAmount(f.price) },
 *     ];
 *     <DataTable caption="Fills" columns={columns} rows={page.items} rowKey={(f) => f.trade_id} />
 */

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { collectPages, downloadCsv, toCsv, type Page } from "../lib/csv";
import "./data.css";

export interface Column<T> {
  /** The row's field shown when there is no `render` (and exported when no `csv`). */
  key: string;
  header: string;
  render?: (row: T) => ComponentChildren;
  /** Right-aligned, tabular digits. */
  numeric?: boolean;
  /** The cell's text in a CSV export (default: the raw field); `false` leaves the
   * column out of exports (e.g. a column of buttons). */
  csv?: ((row: T) => string) | false;
}

function field<T>(row: T, key: string): unknown {
  return (row as Record<string, unknown>)[key];
}

function plain(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export interface DataTableProps<T> {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  /** What to say when there are no rows (inside the table, under the headers). */
  empty?: ComponentChildren;
  rowKey?: (row: T, index: number) => string;
  /** Extra class on the .table-wrap element. */
  class?: string;
}

export function DataTable<T>({ caption, columns, rows, empty, rowKey, class: extra }: DataTableProps<T>) {
  return (
    // Focusable and named: a table wider than the screen scrolls inside its frame, and
    // keyboard users must be able to scroll it too (axe: scrollable-region-focusable).
    <div class={extra ? `table-wrap ${extra}` : "table-wrap"} tabIndex={0} role="region" aria-label={caption}>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" class={c.numeric ? "num" : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} class="muted">
                {empty ?? "Nothing to show."}
              </td>
            </tr>
          ) : (
            rows.map((row, i) => (
              <tr key={rowKey ? rowKey(row, i) : i}>
                {columns.map((c) => (
                  <td key={c.key} class={c.numeric ? "num" : undefined}>
                    {c.render ? c.render(row) : plain(field(row, c.key))}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

export interface PagerProps {
  /** The first row's position (the API's `offset`). */
  offset: number;
  limit: number;
  /** Rows on this page. */
  count: number;
  /** The API's `next_offset`: null on the last page. */
  nextOffset: number | null;
  onOffset: (offset: number) => void;
  /** What the rows are, for the status ("fills"). */
  what?: string;
}

/** "Showing 101–150" and the buttons to the previous and next page. */
export function Pager({ offset, limit, count, nextOffset, onOffset, what = "rows" }: PagerProps) {
  const status = count === 0 ? `No ${what}` : `Showing ${offset + 1}–${offset + count}`;
  return (
    <div class="actions pager">
      <button
        type="button"
        class="secondary"
        disabled={offset === 0}
        onClick={() => onOffset(Math.max(0, offset - limit))}
      >
        Previous page
      </button>
      <span role="status" aria-live="polite">
        {status}
      </span>
      <button type="button" class="secondary" disabled={nextOffset === null} onClick={() => nextOffset !== null && onOffset(nextOffset)}>
        Next page
      </button>
    </div>
  );
}

/** The rows of a CSV export of `columns`. */
export function csvRows<T>(columns: Column<T>[], rows: T[]): { header: string[]; lines: string[][] } {
  const exported = columns.filter((c) => c.csv !== false);
  return {
    header: exported.map((c) => c.header),
    lines: rows.map((row) => exported.map((c) => (c.csv ? c.csv(row) : plain(field(row, c.key))))),
  };
}

export interface CsvButtonProps<T> {
  filename: string;
  columns: Column<T>[];
  /** The rows to export, or `fetchPage` to export every page (up to `max`). */
  rows?: T[];
  fetchPage?: (offset: number, limit: number) => Promise<Page<T>>;
  max?: number;
}

/** "Export CSV": saves the rows, or all pages of the current filter (at most `max`,
 * 10,000 by default, and it says so when there were more). */
export function CsvButton<T>({ filename, columns, rows, fetchPage, max = 10_000 }: CsvButtonProps<T>) {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  async function exportRows() {
    setBusy(true);
    setNote(null);
    setFailure(null);
    try {
      let all = rows ?? [];
      let truncated = false;
      if (fetchPage) ({ rows: all, truncated } = await collectPages(fetchPage, max));
      const { header, lines } = csvRows(columns, all);
      downloadCsv(filename, toCsv(header, lines));
      setNote(
        truncated
          ? `Exported the newest ${all.length.toLocaleString("en")} rows; there are more than that.`
          : `Exported ${all.length.toLocaleString("en")} rows.`,
      );
    } catch (error) {
      setFailure(`The export failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <span class="csv-export">
      <button type="button" class="secondary" disabled={busy} onClick={() => void exportRows()}>
        {busy ? "Exporting…" : "Export CSV"}
      </button>
      <span role="status" aria-live="polite" class="hint">
        {note}
      </span>
      {failure && (
        <span role="alert" class="field-error">
          {failure}
        </span>
      )}
    </span>
  );
}
