/** A strategy's `params_schema` (JSON Schema, as msgspec or pydantic write it) as form
 * fields, the form's text values back as the params JSON, and the API's field errors
 * placed on the fields they name.
 *
 * The form checks only that required fields are filled: every other message (bounds,
 * patterns, types) is the API's own, so the browser and the API never disagree. */

import type { FieldError } from "./api";

export type FieldKind =
  | "text" // a string
  | "decimal" // an exact amount: a string in JSON ("0.05"), never a float
  | "integer"
  | "number" // a JSON number that may have a fraction
  | "boolean"
  | "select" // one of an enum's values
  | "list" // an array of plain values, written comma-separated
  | "json"; // anything else (objects, nested shapes), written as JSON

export interface FieldOption {
  /** The option as the form holds it (always a string). */
  value: string;
  /** The enum's value as the API wants it back (a string, a number, true …). */
  raw: unknown;
}

export interface FieldSpec {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  /** null is allowed: an emptied field sends null (e.g. "disable this rule"). */
  nullable: boolean;
  /** The default as the form shows it; undefined when the schema has none. */
  defaultValue?: string;
  options?: FieldOption[];
  /** For `list`: the kind of each item (`text`, `decimal`, `integer`, `number`). */
  itemKind?: FieldKind;
  /** The description and the bounds, in words: shown under the input. */
  hint: string;
}

/** The form's values by field name: text as typed, booleans as "true" / "false". */
export type FormValues = Record<string, string>;

type Schema = Record<string, unknown>;

const MAX_REF_DEPTH = 16;

function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follow `$ref` ("#/$defs/X", "#/definitions/X") and single-member `allOf` wrappers. */
function resolve(node: unknown, root: Schema, depth = 0): Schema {
  if (!isObject(node) || depth > MAX_REF_DEPTH) return {};
  const ref = node.$ref;
  if (typeof ref === "string" && ref.startsWith("#/")) {
    let target: unknown = root;
    for (const part of ref.slice(2).split("/")) {
      const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
      target = isObject(target) ? target[key] : undefined;
    }
    // Keys beside the $ref (a default, a description) win over the target's.
    const { $ref: _ignored, ...beside } = node;
    return { ...resolve(target, root, depth + 1), ...beside };
  }
  const allOf = node.allOf;
  if (Array.isArray(allOf) && allOf.length === 1) {
    const { allOf: _ignored, ...beside } = node;
    return { ...resolve(allOf[0], root, depth + 1), ...beside };
  }
  return node;
}

function isNullSchema(node: unknown): boolean {
  return isObject(node) && (node.type === "null" || (Array.isArray(node.enum) && node.enum.length === 1 && node.enum[0] === null));
}

/** The non-null part of `anyOf: [X, {type: null}]` / `type: [X, "null"]`, and whether
 * null was allowed. */
function unwrapNullable(node: Schema, root: Schema): { node: Schema; nullable: boolean } {
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = node[key];
    if (Array.isArray(options)) {
      const nonNull = options.filter((o) => !isNullSchema(resolve(o, root)));
      if (nonNull.length < options.length && nonNull.length === 1) {
        const { [key]: _ignored, ...beside } = node;
        return { node: { ...resolve(nonNull[0], root), ...beside }, nullable: true };
      }
    }
  }
  if (Array.isArray(node.type)) {
    const types = node.type.filter((t) => t !== "null");
    if (types.length === 1) return { node: { ...node, type: types[0] }, nullable: types.length < node.type.length };
  }
  return { node, nullable: false };
}

function scalarKind(node: Schema): FieldKind | null {
  if (Array.isArray(node.enum) && node.enum.length > 0) return "select";
  if (node.const !== undefined) return "select";
  switch (node.type) {
    case "string":
      return node.format === "decimal" ? "decimal" : "text";
    case "integer":
      return "integer";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    default:
      return null;
  }
}

function kindOf(node: Schema, root: Schema): { kind: FieldKind; itemKind?: FieldKind } {
  const scalar = scalarKind(node);
  if (scalar) return { kind: scalar };
  if (node.type === "array") {
    const items = unwrapNullable(resolve(node.items, root), root).node;
    const itemKind = scalarKind(items);
    if (itemKind && itemKind !== "boolean" && itemKind !== "select") return { kind: "list", itemKind };
  }
  return { kind: "json" };
}

function asFormValue(value: unknown, kind: FieldKind): string {
  if (value === null || value === undefined) return "";
  if (kind === "json") return JSON.stringify(value);
  if (kind === "list" && Array.isArray(value)) return value.map(String).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A docstring's line breaks and indentation as single spaces. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function bound(node: Schema, key: string): string | undefined {
  const value = node[key];
  return typeof value === "number" || typeof value === "string" ? String(value) : undefined;
}

/** "between 1 and 2592000", "more than 0 and at most 1", "" when unbounded. */
function boundsText(node: Schema): string {
  const min = bound(node, "minimum");
  const max = bound(node, "maximum");
  const xmin = bound(node, "exclusiveMinimum");
  const xmax = bound(node, "exclusiveMaximum");
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  const parts: string[] = [];
  if (min !== undefined) parts.push(`at least ${min}`);
  if (xmin !== undefined) parts.push(`more than ${xmin}`);
  if (max !== undefined) parts.push(`at most ${max}`);
  if (xmax !== undefined) parts.push(`less than ${xmax}`);
  return parts.join(" and ");
}

function hintFor(node: Schema, kind: FieldKind, itemKind: FieldKind | undefined, nullable: boolean): string {
  const parts: string[] = [];
  if (typeof node.description === "string" && node.description.trim()) parts.push(oneLine(node.description));
  const bounds = boundsText(node);
  if (kind === "decimal") parts.push(bounds ? `A decimal number ${bounds}.` : "A decimal number.");
  else if (kind === "integer") parts.push(bounds ? `A whole number ${bounds}.` : "A whole number.");
  else if (kind === "number") parts.push(bounds ? `A number ${bounds}.` : "A number.");
  else if (kind === "list") {
    const what = itemKind === "decimal" || itemKind === "number" ? "numbers" : itemKind === "integer" ? "whole numbers" : "values";
    parts.push(`A list of ${what}, separated by commas.`);
  } else if (kind === "json") {
    parts.push(`Written as JSON${node.type === "object" ? ', e.g. {"BTC/USDT": "0.5"}' : ""}.`);
  }
  if (nullable) parts.push("Leave empty for none.");
  return parts.join(" ");
}

/** The form fields for `schema`'s top-level properties, in the schema's order. Any
 * shape this form cannot draw (nested objects, unions) becomes a JSON text field with a
 * hint; a schema that is not an object with properties gives no fields. */
export function schemaFields(schema: unknown): FieldSpec[] {
  if (!isObject(schema)) return [];
  const top = resolve(schema, schema);
  const properties = top.properties;
  if (!isObject(properties)) return [];
  const required = new Set(Array.isArray(top.required) ? top.required.filter((r): r is string => typeof r === "string") : []);
  return Object.entries(properties).map(([name, raw]) => {
    const { node, nullable } = unwrapNullable(resolve(raw, schema), schema);
    const { kind, itemKind } = kindOf(node, schema);
    // The property's own title only: a referenced type's title names the type ("Side").
    const own = isObject(raw) ? raw.title : undefined;
    const title = typeof own === "string" && own.trim() ? own.trim() : name;
    const spec: FieldSpec = {
      name,
      label: title,
      kind,
      required: required.has(name),
      nullable,
      hint: hintFor(node, kind, itemKind, nullable),
    };
    if (itemKind) spec.itemKind = itemKind;
    if (kind === "select") {
      const values: unknown[] = Array.isArray(node.enum) ? node.enum : [node.const];
      spec.options = values.map((v) => ({ value: asFormValue(v, "text"), raw: v }));
    }
    const fallback = isObject(raw) && "default" in raw ? raw.default : node.default;
    if (fallback !== undefined) spec.defaultValue = asFormValue(fallback, kind);
    return spec;
  });
}

/** The schema's own description (a strategy's summary of its parameters), or "". */
export function schemaDescription(schema: unknown): string {
  if (!isObject(schema)) return "";
  const top = resolve(schema, schema);
  return typeof top.description === "string" ? oneLine(top.description) : "";
}

/** The form's first values: each field's default, booleans "false" without one. */
export function initialValues(fields: FieldSpec[]): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    values[field.name] = field.defaultValue ?? (field.kind === "boolean" ? "false" : "");
  }
  return values;
}

/** The required fields left empty (the only check made before sending). */
export function missingRequired(fields: FieldSpec[], values: FormValues): string[] {
  return fields
    .filter((f) => f.required && f.kind !== "boolean" && (values[f.name] ?? "").trim() === "")
    .map((f) => f.name);
}

const INTEGER = /^[+-]?\d+$/;

/** A typed value, or the text as typed when it does not parse: the API then names the
 * problem in its own words. */
function scalarFrom(text: string, kind: FieldKind | undefined): unknown {
  if (kind === "integer") {
    const n = Number(text);
    return INTEGER.test(text) && Number.isSafeInteger(n) ? n : text;
  }
  if (kind === "number") {
    const n = Number(text);
    return text !== "" && Number.isFinite(n) ? n : text;
  }
  return text; // text and decimal strings stay exact
}

/** The params JSON from the form's values: decimals stay strings, integers and numbers
 * become numbers, booleans booleans; an empty field is left out (the strategy's default
 * applies) or sent as null when the schema allows null. */
export function toParams(fields: FieldSpec[], values: FormValues): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = values[field.name] ?? "";
    if (field.kind === "boolean") {
      params[field.name] = raw === "true";
      continue;
    }
    const text = raw.trim();
    if (text === "") {
      if (field.nullable) params[field.name] = null;
      continue;
    }
    switch (field.kind) {
      case "select": {
        const option = field.options?.find((o) => o.value === raw);
        params[field.name] = option ? option.raw : raw;
        break;
      }
      case "list":
        params[field.name] = text
          .split(/[,\n]/)
          .map((item) => item.trim())
          .filter((item) => item !== "")
          .map((item) => scalarFrom(item, field.itemKind));
        break;
      case "json":
        try {
          params[field.name] = JSON.parse(text);
        } catch {
          params[field.name] = text; // the API says what it expected
        }
        break;
      default:
        params[field.name] = scalarFrom(text, field.kind);
    }
  }
  return params;
}

export interface PlacedErrors {
  /** Message by form key (e.g. "account_id", "params.symbol"). */
  byKey: Record<string, string>;
  /** Messages for fields the form does not have (shown at the top of the form). */
  unplaced: string[];
}

/** Where each of the API's field errors goes. `keys` name the form's fields as the API
 * names them without the `body.` prefix: "label", "params.interval_s". An error on
 * `body.params.basket[1]` lands on "params.basket"; its message loses the repeated
 * field name ("params.x: must be …" → "must be …"). */
export function placeErrors(errors: FieldError[], keys: string[]): PlacedErrors {
  const byKey: Record<string, string> = {};
  const unplaced: string[] = [];
  const longestFirst = [...keys].sort((a, b) => b.length - a.length);
  for (const error of errors) {
    const path = error.field.startsWith("body.") ? error.field.slice(5) : error.field;
    let message = error.message;
    for (const prefix of [`${error.field}: `, `${path}: `]) {
      if (message.startsWith(prefix)) message = message.slice(prefix.length);
    }
    const key = longestFirst.find((k) => path === k || path.startsWith(`${k}.`) || path.startsWith(`${k}[`));
    if (key === undefined) unplaced.push(error.message);
    else if (!(key in byKey)) byKey[key] = message;
  }
  return { byKey, unplaced };
}
