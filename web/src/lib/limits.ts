/** Risk limits as the API takes them (fractions of equity as decimal strings: "0.125")
 * and as people type and read them (percent: "12.5"), converted by moving the decimal
 * point in the text, never through a float. */

import type { LimitInForce } from "./views";

const PLAIN = /^(\d*)(?:\.(\d*))?$/;

/** `text` (a plain, unsigned decimal) with its point moved `places` to the right
 * (left when negative), without needless zeros: `shiftPoint("12.5", -2)` → `"0.125"`,
 * `shiftPoint("0.1", 2)` → `"10"`. Throws on text that is not a plain decimal. */
export function shiftPoint(text: string, places: number): string {
  const parts = PLAIN.exec(text.trim());
  if (!parts || (parts[1] === "" && (parts[2] ?? "") === "")) throw new Error(`not a plain decimal: ${text}`);
  let whole = parts[1];
  let fraction = parts[2] ?? "";
  if (places > 0) {
    fraction = fraction.padEnd(places, "0");
    whole += fraction.slice(0, places);
    fraction = fraction.slice(places);
  } else if (places < 0) {
    whole = whole.padStart(-places, "0");
    fraction = whole.slice(whole.length + places) + fraction;
    whole = whole.slice(0, whole.length + places);
  }
  whole = whole.replace(/^0+/, "") || "0";
  fraction = fraction.replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

export type PercentInput = { ok: true; fraction: string | null } | { ok: false; error: string };

/** What a user typed in a percent field, as the fraction the API takes: `"12.5"` →
 * `"0.125"`; empty → null (no limit). A trailing "%" and a decimal comma are accepted.
 * A limit is above 0 % and below 100 % (the API's bounds on the fraction). */
export function percentToFraction(typed: string): PercentInput {
  let text = typed.trim().replace(/\s*%$/, "");
  if (text === "") return { ok: true, fraction: null };
  if (/^\d*,\d*$/.test(text)) text = text.replace(",", ".");
  const parts = PLAIN.exec(text);
  if (!parts || (parts[1] === "" && (parts[2] ?? "") === "")) {
    return { ok: false, error: "Enter a percentage such as 10 or 12.5, or leave the field empty for no limit." };
  }
  if ((parts[2] ?? "").replace(/0+$/, "").length > 16) {
    return { ok: false, error: "Enter a percentage with at most 16 decimals (the API keeps a fraction's 18)." };
  }
  const fraction = shiftPoint(text, -2);
  if (!/[1-9]/.test(fraction)) return { ok: false, error: "Enter a percentage above 0, or leave the field empty for no limit." };
  if (!fraction.startsWith("0")) return { ok: false, error: "Enter a percentage below 100." };
  return { ok: true, fraction };
}

/** A fraction from the API as the number a percent field shows: `"0.125"` → `"12.5"`;
 * null → "" (no limit). */
export function fractionToPercent(fraction: string | null | undefined): string {
  if (fraction === null || fraction === undefined || fraction === "") return "";
  try {
    return shiftPoint(fraction, 2);
  } catch {
    return fraction; // not a plain decimal: shown as the API sent it
  }
}

/** A fraction as a sentence's percentage: `"0.125"` → `"12.5 %"`, null → "no limit". */
export function limitText(fraction: string | null | undefined): string {
  const percent = fractionToPercent(fraction);
  return percent ? `${percent} %` : "no limit";
}

const SET_BY: Record<LimitInForce["set_by"], string> = {
  account: "set for this account",
  bot: "set for this bot",
  platform: "the platform's ceiling",
};

/** The limit in force and whose it is: `"10 % (the platform's ceiling)"`. */
export function inForceText(limit: LimitInForce | null | undefined): string {
  if (!limit) return "no limit";
  return `${limitText(limit.value)} (${SET_BY[limit.set_by] ?? limit.set_by})`;
}
