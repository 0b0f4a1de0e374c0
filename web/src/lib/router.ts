/** Hash routes (`#/bots/ID`): the gateway serves one page and never needs to know them. */

import { signal } from "@preact/signals";

export const route = signal(currentPath());

function currentPath(): string {
  const hash = typeof location === "undefined" ? "" : location.hash;
  return hash.startsWith("#/") ? hash.slice(1) : "/";
}

if (typeof window !== "undefined") {
  window.addEventListener("hashchange", () => {
    route.value = currentPath();
  });
}

export function navigate(path: string): void {
  if (location.hash !== `#${path}`) location.hash = path;
  route.value = path;
}

/** `match("/bots/:id", "/bots/42")` → `{ id: "42" }`; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("?")[0].split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}
