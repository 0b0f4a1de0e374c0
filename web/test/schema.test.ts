import { describe, expect, it } from "vitest";
import {
  initialValues,
  missingRequired,
  placeErrors,
  schemaDescription,
  schemaFields,
  toParams,
  type FieldSpec,
} from "../src/lib/schema";

const SYMBOL = { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,19}/[A-Za-z0-9][A-Za-z0-9._-]{0,19}$" };
const DECIMAL = { "x-decimal-places": 18, type: "string", format: "decimal" };

/** As msgspec writes the built-in `dca` strategy's schema. */
const DCA = {
  $ref: "#/$defs/DcaParams",
  $defs: {
    DcaParams: {
      title: "DcaParams",
      description: "`symbol` to buy; `quote_amount` (quote) per buy;\n    `interval_s` seconds between buys.",
      type: "object",
      properties: {
        symbol: SYMBOL,
        quote_amount: { exclusiveMinimum: 0, maximum: 1000000000000, ...DECIMAL },
        interval_s: { type: "integer", minimum: 1, maximum: 2592000, default: 86400 },
        dip_threshold: { minimum: 0, maximum: 0.99, ...DECIMAL, default: "0" },
      },
      required: ["symbol", "quote_amount"],
      additionalProperties: false,
    },
  },
};

/** Parts of `grid` and `rebalance`: enum, boolean, arrays, maps, nullable values. */
const MIXED = {
  $ref: "#/$defs/Mixed",
  $defs: {
    Mixed: {
      type: "object",
      properties: {
        spacing: { enum: ["arithmetic", "geometric"], default: "arithmetic" },
        buy_initial_inventory: { type: "boolean", default: true },
        basket: { type: "array", items: SYMBOL, maxItems: 100 },
        weights: { type: "object", additionalProperties: { minimum: 0, ...DECIMAL }, default: {} },
        rebalance_interval_s: {
          anyOf: [{ type: "integer", minimum: 1, maximum: 31622400 }, { type: "null" }],
          default: 86400,
        },
        drift_threshold: { anyOf: [{ exclusiveMinimum: 0, maximum: 1, ...DECIMAL }, { type: "null" }], default: "0.05" },
      },
      required: ["basket"],
    },
  },
};

function field(fields: FieldSpec[], name: string): FieldSpec {
  const found = fields.find((f) => f.name === name);
  if (!found) throw new Error(`no field ${name}`);
  return found;
}

describe("schemaFields", () => {
  it("follows the $ref to the strategy's object and keeps the property order", () => {
    expect(schemaFields(DCA).map((f) => f.name)).toEqual(["symbol", "quote_amount", "interval_s", "dip_threshold"]);
  });

  it("labels a field by its name when it has no title, by its title when it has one", () => {
    const fields = schemaFields({ type: "object", properties: { interval_s: { type: "integer", title: "Interval (s)" }, symbol: { type: "string" } } });
    expect(field(fields, "interval_s").label).toBe("Interval (s)");
    expect(field(fields, "symbol").label).toBe("symbol");
  });

  it("tells text, decimal strings and integers apart, with required and defaults", () => {
    const fields = schemaFields(DCA);
    expect(field(fields, "symbol")).toMatchObject({ kind: "text", required: true, nullable: false });
    expect(field(fields, "symbol").defaultValue).toBeUndefined();
    expect(field(fields, "quote_amount")).toMatchObject({ kind: "decimal", required: true });
    expect(field(fields, "interval_s")).toMatchObject({ kind: "integer", required: false, defaultValue: "86400" });
    expect(field(fields, "dip_threshold")).toMatchObject({ kind: "decimal", defaultValue: "0" });
  });

  it("puts the bounds and the description in the hint", () => {
    const fields = schemaFields(DCA);
    expect(field(fields, "interval_s").hint).toBe("A whole number between 1 and 2592000.");
    expect(field(fields, "quote_amount").hint).toBe("A decimal number more than 0 and at most 1000000000000.");
    const described = schemaFields({ type: "object", properties: { x: { type: "number", description: "a\n   fraction", minimum: 0 } } });
    expect(field(described, "x")).toMatchObject({ kind: "number", hint: "a fraction A number at least 0." });
  });

  it("makes an enum a select with its values and default", () => {
    const spacing = field(schemaFields(MIXED), "spacing");
    expect(spacing.kind).toBe("select");
    expect(spacing.options?.map((o) => o.value)).toEqual(["arithmetic", "geometric"]);
    expect(spacing.defaultValue).toBe("arithmetic");
  });

  it("reads an enum behind a $ref, as pydantic writes it", () => {
    const pydantic = {
      title: "P",
      type: "object",
      definitions: { Side: { title: "Side", enum: ["buy", "sell"], type: "string" } },
      properties: { side: { allOf: [{ $ref: "#/definitions/Side" }], default: "buy" }, size: { title: "Size", type: "integer" } },
      required: ["size"],
    };
    const fields = schemaFields(pydantic);
    expect(field(fields, "side")).toMatchObject({ kind: "select", defaultValue: "buy", label: "side" });
    expect(field(fields, "size")).toMatchObject({ kind: "integer", label: "Size", required: true });
  });

  it("makes a boolean a checkbox value", () => {
    expect(field(schemaFields(MIXED), "buy_initial_inventory")).toMatchObject({ kind: "boolean", defaultValue: "true" });
  });

  it("makes an array of strings a comma-separated list", () => {
    expect(field(schemaFields(MIXED), "basket")).toMatchObject({ kind: "list", itemKind: "text", required: true });
  });

  it("unwraps anyOf [X, null] into a nullable X", () => {
    const fields = schemaFields(MIXED);
    expect(field(fields, "rebalance_interval_s")).toMatchObject({ kind: "integer", nullable: true, defaultValue: "86400" });
    expect(field(fields, "drift_threshold")).toMatchObject({ kind: "decimal", nullable: true, defaultValue: "0.05" });
    expect(field(fields, "drift_threshold").hint).toContain("Leave empty for none.");
    const typeList = schemaFields({ type: "object", properties: { n: { type: ["integer", "null"] } } });
    expect(field(typeList, "n")).toMatchObject({ kind: "integer", nullable: true });
  });

  it("writes an object or any other shape as a JSON field with a hint, never crashing", () => {
    const fields = schemaFields({
      type: "object",
      properties: {
        weights: MIXED.$defs.Mixed.properties.weights,
        nested: { type: "object", properties: { a: { type: "integer" } } },
        either: { anyOf: [{ type: "integer" }, { type: "string" }] },
        blank: {},
        broken: { $ref: "#/$defs/Missing" },
        loop: { $ref: "#/properties/loop" },
      },
    });
    expect(fields.map((f) => f.kind)).toEqual(["json", "json", "json", "json", "json", "json"]);
    expect(field(fields, "weights").defaultValue).toBe("{}");
    expect(field(fields, "weights").hint).toContain("JSON");
  });

  it("gives no fields for a schema that is not an object with properties", () => {
    expect(schemaFields(undefined)).toEqual([]);
    expect(schemaFields(null)).toEqual([]);
    expect(schemaFields("x")).toEqual([]);
    expect(schemaFields({ type: "object" })).toEqual([]);
    expect(schemaFields({ $ref: "#/$defs/Nowhere" })).toEqual([]);
  });

  it("reads the strategy's own description as one line", () => {
    expect(schemaDescription(DCA)).toBe("`symbol` to buy; `quote_amount` (quote) per buy; `interval_s` seconds between buys.");
    expect(schemaDescription({})).toBe("");
  });
});

describe("initialValues and missingRequired", () => {
  it("starts each field at its default, booleans at false without one", () => {
    const fields = schemaFields({ type: "object", properties: { a: { type: "boolean" }, b: { type: "string" }, c: { type: "integer", default: 3 } } });
    expect(initialValues(fields)).toEqual({ a: "false", b: "", c: "3" });
  });

  it("names the required fields left empty or blank, and only those", () => {
    const fields = schemaFields(DCA);
    const values = initialValues(fields);
    expect(missingRequired(fields, values)).toEqual(["symbol", "quote_amount"]);
    expect(missingRequired(fields, { ...values, symbol: "BTC/USDT", quote_amount: "  " })).toEqual(["quote_amount"]);
    expect(missingRequired(fields, { ...values, symbol: "BTC/USDT", quote_amount: "-5" })).toEqual([]);
  });
});

describe("toParams", () => {
  it("keeps decimals as exact strings and sends integers as numbers", () => {
    const fields = schemaFields(DCA);
    const params = toParams(fields, { symbol: " BTC/USDT ", quote_amount: "0.000000000000000001", interval_s: "3600", dip_threshold: "0.05" });
    expect(params).toEqual({ symbol: "BTC/USDT", quote_amount: "0.000000000000000001", interval_s: 3600, dip_threshold: "0.05" });
  });

  it("leaves an empty optional field out so the strategy's default applies", () => {
    const fields = schemaFields(DCA);
    expect(toParams(fields, { symbol: "BTC/USDT", quote_amount: "10", interval_s: "", dip_threshold: "" })).toEqual({
      symbol: "BTC/USDT",
      quote_amount: "10",
    });
  });

  it("sends what does not parse as typed, for the API to name the problem", () => {
    const fields = schemaFields(DCA);
    const params = toParams(fields, { symbol: "x", quote_amount: "abc", interval_s: "1.5" });
    expect(params.interval_s).toBe("1.5");
    expect(params.quote_amount).toBe("abc");
    expect(toParams(fields, { interval_s: "-1" }).interval_s).toBe(-1);
    expect(toParams(fields, { interval_s: "99999999999999999999" }).interval_s).toBe("99999999999999999999");
  });

  it("converts booleans, enums, lists, JSON and nulls", () => {
    const fields = schemaFields(MIXED);
    const params = toParams(fields, {
      spacing: "geometric",
      buy_initial_inventory: "false",
      basket: "BTC/USDT, ETH/USDT,\nSOL/USDT, ",
      weights: '{"BTC/USDT": "0.5"}',
      rebalance_interval_s: "",
      drift_threshold: "0.1",
    });
    expect(params).toEqual({
      spacing: "geometric",
      buy_initial_inventory: false,
      basket: ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
      weights: { "BTC/USDT": "0.5" },
      rebalance_interval_s: null,
      drift_threshold: "0.1",
    });
  });

  it("gives a non-string enum value back as the schema wrote it", () => {
    const fields = schemaFields({ type: "object", properties: { level: { enum: [1, 2, 3] }, on: { const: true } } });
    expect(toParams(fields, { level: "2", on: "true" })).toEqual({ level: 2, on: true });
  });

  it("sends text that is not JSON as typed, and numbers in number lists as numbers", () => {
    const fields = schemaFields({
      type: "object",
      properties: { m: { type: "object" }, sizes: { type: "array", items: { type: "number" } } },
    });
    expect(toParams(fields, { m: "{oops", sizes: "1, 2.5, x" })).toEqual({ m: "{oops", sizes: [1, 2.5, "x"] });
  });
});

describe("placeErrors", () => {
  const keys = ["account_id", "strategy", "params.symbol", "params.basket", "params.interval_s"];

  it("puts each API field error on its field, without the repeated field name", () => {
    const placed = placeErrors(
      [
        { field: "params.interval_s", message: "params.interval_s: Expected `int` >= 1" },
        { field: "body.account_id", message: "String should match pattern" },
        { field: "params.basket[1]", message: "params.basket[1]: Expected `str`, got `int`" },
      ],
      keys,
    );
    expect(placed.byKey).toEqual({
      "params.interval_s": "Expected `int` >= 1",
      account_id: "String should match pattern",
      "params.basket": "Expected `str`, got `int`",
    });
    expect(placed.unplaced).toEqual([]);
  });

  it("keeps errors for fields the form does not have for the top of the form", () => {
    const placed = placeErrors(
      [
        { field: "params.bogus", message: "params.bogus: Object contains unknown field `bogus`" },
        { field: "body.params", message: "Dictionary should have at most 64 items" },
      ],
      keys,
    );
    expect(placed.byKey).toEqual({});
    expect(placed.unplaced).toEqual(["params.bogus: Object contains unknown field `bogus`", "Dictionary should have at most 64 items"]);
  });

  it("does not take a field for another that shares its prefix", () => {
    const placed = placeErrors([{ field: "body.password_again", message: "x" }], ["password"]);
    expect(placed.unplaced).toEqual(["x"]);
  });
});
