/** The signed-in user, and the browser session design (docs/dashboard.md):
 *
 * - the access token (15 minutes) lives only in this module's memory: no storage an
 *   injected script could read it from, gone with the tab;
 * - the refresh token lives in the `tradewind_refresh` cookie the gateway sets on
 *   `POST /api/v1/auth/session`: HttpOnly (no script reads it), Secure, SameSite=Strict
 *   (no other site's page sends it), Path=/api/v1/auth/session (no other request carries
 *   it);
 * - the access token is renewed a minute before it expires and whenever a request is
 *   refused as unauthenticated, once, through `POST /api/v1/auth/session/refresh`; a page
 *   reload restores the session the same way. Concurrent renewals share one request
 *   (a refresh token works once). */

import { computed, signal } from "@preact/signals";
import { ApiError, errorFrom, onUnauthenticated, post, request, setAccessToken } from "./api";

export interface User {
  id: string;
  email: string;
  roles: string[];
  created_at: string;
}

interface AccessGrant {
  access_token: string;
  expires_in: number;
}

/** "unknown" until the first restore attempt has answered. */
export const sessionState = signal<"unknown" | "signed-out" | "signed-in">("unknown");
export const user = signal<User | null>(null);
/** Why the last session ended, if it ended by itself (shown on the sign-in page). */
export const sessionNotice = signal<string | null>(null);

export const roles = computed(() => new Set(user.value?.roles ?? []));
export const isOperator = computed(() => roles.value.has("admin") || roles.value.has("operator"));
export const isAdmin = computed(() => roles.value.has("admin"));
export const canTrade = computed(() => roles.value.has("admin") || roles.value.has("trader"));

let renewal: Promise<boolean> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;

const WEB_HEADERS = { "content-type": "application/json", "x-tradewind-web": "1" };

function grant(access: AccessGrant): void {
  setAccessToken(access.access_token);
  clearTimeout(timer);
  const renewInMs = Math.max(5, access.expires_in - 60) * 1000;
  timer = setTimeout(() => void renew(), renewInMs);
}

async function loadUser(): Promise<void> {
  user.value = await request<User>("GET", "/me", { noRefresh: true });
  sessionState.value = "signed-in";
}

function ended(notice: string | null): void {
  clearTimeout(timer);
  setAccessToken(null);
  user.value = null;
  sessionState.value = "signed-out";
  sessionNotice.value = notice;
}

/** Renew the access token from the refresh cookie; false when the session is over. */
export function renew(): Promise<boolean> {
  if (!renewal) {
    renewal = (async () => {
      try {
        const response = await fetch("/api/v1/auth/session/refresh", {
          method: "POST",
          headers: WEB_HEADERS,
          credentials: "same-origin",
        });
        if (!response.ok) {
          if (sessionState.value === "signed-in") {
            ended((await errorFrom(response)).detail);
          }
          return false;
        }
        grant(await response.json());
        return true;
      } catch {
        return false; // offline: keep the session, the next request tries again
      } finally {
        renewal = null;
      }
    })();
  }
  return renewal;
}

onUnauthenticated(renew);

/** On page load: a session cookie from an earlier visit signs the user in again. */
export async function restore(): Promise<void> {
  if (await renew()) {
    try {
      await loadUser();
      return;
    } catch {
      // fall through: signed out
    }
  }
  ended(null);
}

export async function signIn(email: string, password: string): Promise<void> {
  const response = await fetch("/api/v1/auth/session", {
    method: "POST",
    headers: WEB_HEADERS,
    credentials: "same-origin",
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) throw await errorFrom(response);
  grant(await response.json());
  sessionNotice.value = null;
  await loadUser();
}

export async function signUp(email: string, password: string): Promise<void> {
  await post("/auth/register", { email, password });
  await signIn(email, password);
}

export async function signOut(): Promise<void> {
  try {
    await fetch("/api/v1/auth/session/end", {
      method: "POST",
      headers: WEB_HEADERS,
      credentials: "same-origin",
    });
  } finally {
    ended("You signed out.");
  }
}

export { ApiError };
