import { describe, expect, it } from "vitest";
import { allowedActions, haltNotice } from "../src/pages/bot";
import type { BotView } from "../src/lib/views";

const bot = (over: Partial<BotView>): BotView => ({
  id: "b", account_id: "a", strategy: "dca", params: {}, state: "running",
  created_at: "2026-12-06T00:00:00Z", updated_at: "2026-12-06T00:00:00Z", ...over,
}); // fmt: skip

describe("bot page logic", () => {
  it("offers the transitions the API allows", () => {
    expect(allowedActions("running")).toEqual({ start: false, pause: true, stop: true });
    expect(allowedActions("paused")).toEqual({ start: true, pause: false, stop: true });
    expect(allowedActions("stopped")).toEqual({ start: true, pause: false, stop: false });
  });

  it("explains a kill switch or a pause, and says nothing otherwise", () => {
    expect(haltNotice(bot({}))).toBeNull();
    expect(haltNotice(bot({ state: "paused", paused_reason: "drawdown 12 % over the 10 % limit" }))).toBe(
      "Paused: drawdown 12 % over the 10 % limit",
    );
    expect(
      haltNotice(
        bot({
          state: "stopped",
          paused_reason: null,
          halted_by: { scope: "account", target: "a1", reason: "exchange incident", engaged_at: "2026-12-06T00:00:00Z" },
        }),
      ),
    ).toBe("Stopped by a kill switch (account a1): exchange incident");
    expect(haltNotice(bot({ halted_by: null }))).toBeNull();
  });
});
