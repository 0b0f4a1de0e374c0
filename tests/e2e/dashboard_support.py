"""What tests/e2e/test_dashboard.py drives the dashboard with: `tradewind up` on free
ports, the simulator's faucet and the gateway over HTTP (as a user in another tab would
use them), `tradewind users grant-admin`, Debian's Chromium under Playwright, and the
checks run on every page (axe-core, horizontal overflow at phone width, screenshots,
Content-Security-Policy violations and uncaught errors)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

from tests.servers import missing
from tradewind.bus.tansu import free_port, port_open

ROOT = Path(__file__).parents[2]
TRADEWIND = str(Path(sys.executable).parent / "tradewind")
WEBAPP_INDEX = ROOT / "tradewind" / "gateway" / "webapp_dist" / "index.html"
AXE_SCRIPT = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "a long passphrase, 2 kinds"
WIDE, NARROW = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


# -- the platform -----------------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    """A running `tradewind up`: its gateway (and dashboard), its Binance-style
    simulator `sim` and the folder it runs in (.tradewind/ holds its database and key)."""

    gateway: str
    venue: str
    folder: Path

    def grant_admin(self, email: str) -> None:
        """`tradewind users grant-admin EMAIL` on this run's database and master key."""
        data = self.folder / ".tradewind"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
        env |= {
            "TRADEWIND_DATABASE_URL": f"sqlite:///{data / 'embedded.db'}",
            "TRADEWIND_MASTER_KEY_FILE": str(data / "master.key"),
        }
        done = subprocess.run(
            [TRADEWIND, "users", "grant-admin", email],
            cwd=self.folder, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


def require_built_dashboard() -> None:
    assert WEBAPP_INDEX.is_file(), (
        f"the dashboard is not built ({WEBAPP_INDEX.relative_to(ROOT)} is missing): "
        "run `cd web && npm run build` (./dev test builds it when web/ changed)"
    )


@contextlib.contextmanager
def running_platform(folder: Path, demo_bots: int = 3) -> Iterator[Platform]:
    """`tradewind up` on free ports in `folder`, stopped (and its log shown on a failure
    to start) on leaving."""
    gateway, venue, coinbase, health = free_port(), free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env |= {"TRADEWIND_HTTP_PORT": str(gateway), "TRADEWIND_HEALTH_PORT": str(health)}
    log_path = folder / "up.log"
    with log_path.open("w") as log:
        up = subprocess.Popen(
            [TRADEWIND, "up", "--no-live", "--venue-port", str(venue),
             "--coinbase-port", str(coinbase), "--bots", str(demo_bots), "--for", "1200"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            for _ in range(300):  # a minute
                if port_open("127.0.0.1", gateway, 0.2) and port_open("127.0.0.1", venue, 0.2):
                    break
                assert up.poll() is None, "up exited before it served:\n" + log_path.read_text()
                time.sleep(0.2)
            else:
                raise AssertionError("up did not start in a minute:\n" + log_path.read_text())
            yield Platform(f"http://127.0.0.1:{gateway}", f"http://127.0.0.1:{venue}", folder)
        finally:
            up.terminate()
            up.wait(60)


# -- HTTP, as a user in another tab -------------------------------------------------------


@dataclass(frozen=True)
class FundedKeys:
    """An account opened at the simulator's faucet, and what a DCA bot on it trades."""

    api_key: str
    api_secret: str
    symbol: str  # "BASE/QUOTE"
    quote: str
    quote_amount: str  # per buy, in `quote`


def fund_account(venue: str) -> FundedKeys:
    """Open a funded account on the simulator (POST /sim/v1/accounts), as the
    walkthrough does: the first market, its quote asset funded."""
    with httpx.Client(timeout=20) as http:
        market = http.get(f"{venue}/api/v3/exchangeInfo").json()["symbols"][0]
        quote = market["quoteAsset"]
        funding = {"BTC": "1"} if quote == "BTC" else {quote: "10000"}
        keys = http.post(f"{venue}/sim/v1/accounts", json={"balances": funding})
        keys.raise_for_status()
    return FundedKeys(
        api_key=keys.json()["api_key"],
        api_secret=keys.json()["api_secret"],
        symbol=f"{market['baseAsset']}/{quote}",
        quote=quote,
        quote_amount="0.01" if quote == "BTC" else "50",
    )


def new_email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:6]}@example.com"


class ApiUser:
    """A user of the gateway's API (a token from POST /auth/login)."""

    def __init__(self, gateway: str, email: str) -> None:
        self.email = email
        self._http = httpx.Client(base_url=f"{gateway}/api/v1", timeout=20)
        login = self._http.post("/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        self._http.headers["authorization"] = f"Bearer {login.json()['access_token']}"

    @classmethod
    def register(cls, gateway: str, email: str) -> ApiUser:
        with httpx.Client(timeout=20) as http:
            registered = http.post(
                f"{gateway}/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
            registered.raise_for_status()
        return cls(gateway, email)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, path, json=body)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def refusal(self, method: str, path: str) -> httpx.Response:
        """The response to a call expected to be refused (its status and detail)."""
        return self._http.request(method, path)

    def trading_dca_bot(self, keys: FundedKeys, label: str) -> tuple[str, str]:
        """Connect `keys` as an account and start a DCA bot on it: (account id, bot id)."""
        account = self.call(
            "POST", "/accounts",
            {"venue": "sim", "api_key": keys.api_key, "api_secret": keys.api_secret,
             "label": label, "valuation_asset": keys.quote},
        )  # fmt: skip
        bot = self.call(
            "POST", "/bots",
            {"account_id": account["id"], "strategy": "dca",
             "params": {"symbol": keys.symbol, "quote_amount": keys.quote_amount,
                        "interval_s": 2}},
        )  # fmt: skip
        self.call("POST", f"/bots/{bot['id']}/start")
        return account["id"], bot["id"]


# -- the browser --------------------------------------------------------------------------


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless (never a browser Playwright downloads)."""
    if shutil.which(CHROMIUM) is None:
        missing(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (Debian's package)")
    # Chromium refuses to run as root inside its sandbox; the CI container runs as root.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


# Reports each Content-Security-Policy violation to the test (an exposed binding is not
# itself subject to the page's policy; an init script runs before the page's own).
_REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
    + `at ${e.sourceFile}:${e.lineNumber}: ${e.sample}`);
});
"""


@dataclass
class Watch:
    """What went wrong in a browser context's pages: CSP violations, uncaught errors,
    and the console (kept to explain a failure)."""

    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.expose_binding("__reportCsp", lambda _source, text: self._csp(text))
        context.add_init_script(_REPORT_CSP)
        context.on("page", self._page)

    def _page(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))

    def _csp(self, text: str) -> None:
        self.csp_violations.append(text)

    def _console(self, message: ConsoleMessage) -> None:
        line = f"{message.type}: {message.text}"
        self.console.append(line)
        if "Content Security Policy" in message.text:
            self.csp_violations.append(line)

    def problems(self) -> str:
        """'' when the pages ran clean, else every violation and error, with the console."""
        if not (self.csp_violations or self.page_errors):
            return ""
        return "\n".join(
            ["CSP violations:", *self.csp_violations, "uncaught errors:", *self.page_errors,
             "console:", *self.console[-40:]]
        )  # fmt: skip


def new_context(browser: Browser, gateway: str, watch: Watch, **options: Any) -> BrowserContext:
    context = browser.new_context(base_url=gateway, **({"viewport": WIDE} | options))
    context.set_default_timeout(30_000)  # a hang guard, not a speed requirement
    watch.attach(context)
    return context


def sign_up(page: Page, email: str) -> None:
    page.goto("/#/signup")
    page.get_by_role("heading", name="Create your account", level=1).wait_for()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Portfolio", level=1).wait_for()


def sign_in(page: Page, email: str) -> None:
    page.goto("/#/signin")
    page.get_by_role("heading", name="Sign in", level=1).wait_for()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("heading", name="Portfolio", level=1).wait_for()


# -- checks on every page -----------------------------------------------------------------


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is: 'rule: targets'."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# The elements whose content spills out of them sideways (overflow visible), innermost
# first (their parents spill because of them), as `tag.class` paths a reader can find.
_SPILLING = """() => {
  const spills = [...document.body.querySelectorAll("*")].filter(
    (e) => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0
      && getComputedStyle(e).overflowX === "visible");
  const innermost = spills.filter((e) => !spills.some((o) => o !== e && e.contains(o)));
  const name = (e) => e.tagName.toLowerCase() + [...e.classList].map((c) => "." + c).join("");
  return innermost.slice(0, 5).map((e) => {
    const path = [];
    for (let n = e; n && n !== document.body && path.length < 4; n = n.parentElement) {
      path.unshift(name(n));
    }
    return `${path.join(" > ")} "${e.textContent.trim().slice(0, 40)}"`;
  });
}"""


def horizontal_overflow(page: Page) -> str:
    """'' when the page is no wider than the window, else by how many CSS pixels it is
    and which elements' content spills out of them."""
    over = int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
    if over <= 1:
        return ""
    return f"{over} px too wide; spilling: " + "; ".join(page.evaluate(_SPILLING))


def screenshot(page: Page, width: int, name: str) -> None:
    folder = SCREENSHOTS / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
