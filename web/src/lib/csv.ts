/** CSV for spreadsheet users (RFC 4180): fields with a comma, quote or line break are
 * quoted, quotes doubled, lines end in CRLF. A cell that a spreadsheet would run as a
 * formula (starting with = + - @, tab or carriage return) gets a leading `'`, so an
 * exported symbol or reason can never execute anything (OWASP "CSV injection"). A
 * negative amount like `-1.5` is written `'-1.5`: plain text, still readable. */

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell, guarded and quoted as needed. */
export function csvCell(value: string | number | null | undefined): string {
  let text = value === null || value === undefined ? "" : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  if (/[",\r\n]/.test(text)) text = `"${text.replace(/"/g, '""')}"`;
  return text;
}

/** A whole file: the header line, then one line per row. */
export function toCsv(header: string[], rows: (string | number | null | undefined)[][]): string {
  return [header, ...rows].map((line) => line.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** Have the browser save `text` as `filename` (a Blob and an object URL: no data: URL,
 * nothing inline, fine under a strict Content-Security-Policy). */
export function downloadCsv(filename: string, text: string): void {
  // The byte order mark makes spreadsheet programs read the file as UTF-8.
  const blob = new Blob(["\ufeff", text], { type: "text/csv;charset=utf-8" });
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = filename;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 0);
}

/** One page of an API list (`Page[T]` in the gateway's schemas). */
export interface Page<T> {
  items: T[];
  limit: number;
  offset: number;
  next_offset: number | null;
}

/** Every row of a paged list, page after page, up to `max` rows; `truncated` says
 * that more were left out. */
export async function collectPages<T>(
  fetchPage: (offset: number, limit: number) => Promise<Page<T>>,
  max = 10_000,
  pageSize = 500,
): Promise<{ rows: T[]; truncated: boolean }> {
  const rows: T[] = [];
  let offset: number | null = 0;
  while (offset !== null && rows.length < max) {
    const page: Page<T> = await fetchPage(offset, Math.min(pageSize, max - rows.length));
    rows.push(...page.items);
    offset = page.next_offset;
  }
  return { rows: rows.slice(0, max), truncated: offset !== null };
}
