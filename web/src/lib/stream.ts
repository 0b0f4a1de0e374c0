/** The live stream (`/api/v1/stream`): portfolio, order and fill events of the user's
 * accounts. It authenticates with its first message (the token never goes in a URL),
 * reconnects by itself with a growing pause (1 s … 15 s) and says so in `streamState`,
 * and renews the access token when the gateway closes for an expired one (4408).
 *
 * Portfolio updates are coalesced: many in one animation frame become one re-render
 * per account with the newest values (no flicker under a burst of fills). */

import { signal } from "@preact/signals";
import { getAccessToken } from "./api";
import { renew } from "./session";

export type StreamState = "off" | "connecting" | "live" | "reconnecting";
export const streamState = signal<StreamState>("off");

export interface StreamMessage {
  type: string;
  event_id?: string;
  data?: unknown;
  accounts?: string[];
}

type Handler = (message: StreamMessage) => void;

const handlers = new Set<Handler>();
let socket: WebSocket | null = null;
let wanted = false;
let attempt = 0;
let retry: ReturnType<typeof setTimeout> | undefined;

/** Call `handler` with every message; returns the unsubscribe function. */
export function subscribe(handler: Handler): () => void {
  handlers.add(handler);
  return () => handlers.delete(handler);
}

export function backoffMs(attempt: number): number {
  return Math.min(15_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

export function startStream(): void {
  wanted = true;
  if (!socket) open();
}

export function stopStream(): void {
  wanted = false;
  clearTimeout(retry);
  socket?.close(1000, "signed out");
  socket = null;
  streamState.value = "off";
}

function open(): void {
  const token = getAccessToken();
  if (!token) {
    scheduleReconnect();
    return;
  }
  streamState.value = attempt === 0 ? "connecting" : "reconnecting";
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/stream`);
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
  ws.onmessage = (event) => {
    let message: StreamMessage;
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    if (message.type === "subscribed") {
      attempt = 0;
      streamState.value = "live";
    }
    for (const handler of handlers) handler(message);
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;
    socket = null;
    if (!wanted) return;
    if (event.code === 4408 || event.code === 4401) void renew().finally(scheduleReconnect);
    else scheduleReconnect();
  };
}

function scheduleReconnect(): void {
  if (!wanted) return;
  attempt += 1;
  streamState.value = "reconnecting";
  clearTimeout(retry);
  retry = setTimeout(open, backoffMs(attempt));
}

/** Collects values by key and hands the newest of each to `apply` once per frame. */
export class Coalescer<T> {
  private pending = new Map<string, T>();
  private scheduled = false;

  constructor(
    private readonly apply: (batch: Map<string, T>) => void,
    private readonly schedule: (run: () => void) => void = (run) =>
      typeof requestAnimationFrame === "function" ? requestAnimationFrame(run) : setTimeout(run, 16),
  ) {}

  push(key: string, value: T): void {
    this.pending.set(key, value);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = new Map();
      this.apply(batch);
    });
  }
}
