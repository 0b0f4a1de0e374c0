/** The shell: the header (navigation by role, the live stream's state, sign out) and
 * the page the hash route names. */

import { useEffect } from "preact/hooks";
import { match, navigate, route } from "./lib/router";
import { isOperator, isAdmin, sessionState, signOut, user } from "./lib/session";
import { startStream, stopStream, streamState } from "./lib/stream";
import { Loading } from "./components/states";
import { SignIn, SignUp } from "./pages/auth";
import { Accounts } from "./pages/accounts";
import { AccountDetail } from "./pages/account";
import { Bots, NewBot } from "./pages/bots";
import { BotDetail } from "./pages/bot";
import { Portfolio } from "./pages/portfolio";
import { Orders, Fills } from "./pages/history";
import { Users, KillSwitches, Operations, DeadLetters, AuditLog } from "./pages/admin";

const TRADER_NAV: [string, string][] = [
  ["/", "Portfolio"],
  ["/accounts", "Accounts"],
  ["/bots", "Bots"],
  ["/orders", "Orders"],
  ["/fills", "Fills"],
];

const OPERATOR_NAV: [string, string][] = [
  ["/admin/users", "Users"],
  ["/admin/kill-switches", "Kill switches"],
  ["/admin/operations", "Operations"],
  ["/admin/dead-letters", "Dead letters"],
  ["/admin/audit", "Audit log"],
];

const STREAM_LABEL = {
  off: "Offline",
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Disconnected — reconnecting…",
};

function Page({ path }: { path: string }) {
  let params: Record<string, string> | null;
  if (path === "/" || path === "") return <Portfolio />;
  if (path === "/accounts") return <Accounts />;
  if ((params = match("/accounts/:id", path))) return <AccountDetail id={params.id} />;
  if (path === "/bots") return <Bots />;
  if (path === "/bots/new") return <NewBot />;
  if ((params = match("/bots/:id", path))) return <BotDetail id={params.id} />;
  if (path.startsWith("/orders")) return <Orders />;
  if (path.startsWith("/fills")) return <Fills />;
  if (isOperator.value || isAdmin.value) {
    if (path === "/admin/users") return <Users />;
    if (path === "/admin/kill-switches") return <KillSwitches />;
    if (path === "/admin/operations") return <Operations />;
    if (path === "/admin/dead-letters") return <DeadLetters />;
    if (path === "/admin/audit") return <AuditLog />;
  }
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <a href="#/">Back to the portfolio</a>.
      </p>
    </section>
  );
}

export function App() {
  const state = sessionState.value;
  const path = route.value;

  useEffect(() => {
    if (state === "signed-in") startStream();
    else stopStream();
  }, [state]);

  useEffect(() => {
    if (state === "signed-out" && path !== "/signin" && path !== "/signup") navigate("/signin");
    if (state === "signed-in" && (path === "/signin" || path === "/signup")) navigate("/");
  }, [state, path]);

  if (state === "unknown") {
    return (
      <main id="main">
        <Loading what="your session" />
      </main>
    );
  }
  if (state === "signed-out") {
    return (
      <main id="main" class="auth">
        {path === "/signup" ? <SignUp /> : <SignIn />}
      </main>
    );
  }
  const nav = isOperator.value ? [...TRADER_NAV, ...OPERATOR_NAV] : TRADER_NAV;
  const here = "/" + (path.split("/")[1] ?? "");
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Tradewind</span>
        <nav aria-label="Main">
          <ul>
            {nav.map(([href, label]) => {
              const current = href === "/" ? path === "/" : path === href || path.startsWith(href + "/") || (href.startsWith("/admin") ? path === href : here === href);
              return (
                <li key={href}>
                  <a href={`#${href}`} aria-current={current ? "page" : undefined}>
                    {label}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
        <span class={`stream ${streamState.value}`} role="status" aria-live="polite">
          {STREAM_LABEL[streamState.value]}
        </span>
        <span class="who">{user.value?.email}</span>
        <button type="button" class="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </>
  );
}
