import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setAccessToken } from "../src/lib/api";
import { backoffMs, startStream, stopStream, streamState, subscribe } from "../src/lib/stream";

/** A WebSocket the test drives: it records what the page sends and opens, answers and
 * closes when told. */
class FakeSocket {
  static made: FakeSocket[] = [];
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }

  send(text: string): void {
    this.sent.push(text);
  }

  close(): void {}

  open(): void {
    this.onopen?.();
  }

  receive(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  drop(code: number): void {
    this.onclose?.({ code });
  }
}

describe("the live stream", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.made = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    setAccessToken("token-1");
  });

  afterEach(() => {
    stopStream();
    setAccessToken(null);
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it("authenticates with its first message, never in the URL, and says when it is live", () => {
    const seen: string[] = [];
    const unsubscribe = subscribe((message) => seen.push(message.type));
    startStream();
    const socket = FakeSocket.made[0];
    expect(socket.url).toMatch(/\/api\/v1\/stream$/);
    expect(streamState.value).toBe("connecting");
    socket.open();
    expect(JSON.parse(socket.sent[0])).toEqual({ type: "auth", token: "token-1" });
    socket.receive({ type: "subscribed", accounts: ["a"] });
    expect(streamState.value).toBe("live");
    socket.receive({ type: "fill", data: {} });
    expect(seen).toEqual(["subscribed", "fill"]);
    unsubscribe();
  });

  it("says it is disconnected and reconnects by itself, waiting longer each time", () => {
    startStream();
    FakeSocket.made[0].open();
    FakeSocket.made[0].receive({ type: "subscribed", accounts: [] });
    FakeSocket.made[0].drop(1006);
    expect(streamState.value).toBe("reconnecting");
    expect(FakeSocket.made).toHaveLength(1);
    vi.advanceTimersByTime(backoffMs(1));
    expect(FakeSocket.made).toHaveLength(2);
    FakeSocket.made[1].drop(1006); // the gateway still down
    vi.advanceTimersByTime(backoffMs(1));
    expect(FakeSocket.made).toHaveLength(2); // the second wait is longer
    vi.advanceTimersByTime(backoffMs(2) - backoffMs(1));
    expect(FakeSocket.made).toHaveLength(3);
    FakeSocket.made[2].open();
    FakeSocket.made[2].receive({ type: "subscribed", accounts: [] });
    expect(streamState.value).toBe("live");
  });

  it("renews the access token when the gateway closes for an expired one (4408)", async () => {
    const fetch = vi.fn(async () =>
      new Response(JSON.stringify({ access_token: "token-2", expires_in: 900 }), { status: 200 }),
    );
    vi.stubGlobal("fetch", fetch);
    startStream();
    FakeSocket.made[0].open();
    FakeSocket.made[0].drop(4408);
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledWith("/api/v1/auth/session/refresh", expect.anything()));
    await vi.advanceTimersByTimeAsync(backoffMs(1));
    const next = FakeSocket.made[1];
    next.open();
    expect(JSON.parse(next.sent[0])).toEqual({ type: "auth", token: "token-2" });
  });

  it("stops reconnecting once signed out", () => {
    startStream();
    stopStream();
    expect(streamState.value).toBe("off");
    FakeSocket.made[0].drop(1006);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.made).toHaveLength(1);
  });

  it("never waits more than 15 s between tries", () => {
    expect([1, 2, 3, 4, 5, 10].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 15000, 15000]);
  });
});
