"""The dashboard in a real browser (Debian's Chromium under Playwright) against
`tradewind up`: a trader signs up, connects a funded simulator account, creates and starts
a DCA bot and watches its first fill and the equity move without reloading; an admin
halts the account with a kill switch and the trader sees why; a second trader sees none of
it. Then every page is checked with axe-core and at 1280 and 390 px wide (no sideways
scrolling, on a desktop or a phone), and photographed into test-artifacts/screenshots/<width>/.

Locators follow the accessible-name contract the pages are written to (roles, labels and
texts; docs/dashboard.md). Timeouts are hang guards, never speed requirements."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.dashboard_support import (
    AXE_SCRIPT,
    NARROW,
    WIDE,
    ApiUser,
    Platform,
    Watch,
    axe_violations,
    fund_account,
    horizontal_overflow,
    launch_chromium,
    new_context,
    new_email,
    require_built_dashboard,
    running_platform,
    screenshot,
    sign_in,
    sign_up,
)

A_MINUTE = 60_000  # ms: how long a live update may take to arrive before the test hangs


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    require_built_dashboard()
    with running_platform(tmp_path_factory.mktemp("dashboard")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=30_000)  # a hang guard, not a speed requirement
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def loaded(page: Page) -> None:
    """Wait until no data view on the page says it is loading."""
    expect(page.locator(".state.loading")).to_have_count(0, timeout=A_MINUTE)


def nav(page: Page, link: str, heading: str | re.Pattern[str]) -> None:
    """Follow a link of the header's navigation (an in-page route change, no load)."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    loaded(page)


def open_bot(page: Page, bot_id: str) -> None:
    nav(page, "Bots", "Bots")
    page.get_by_role("table", name="Your bots").locator(f'a[href="#/bots/{bot_id}"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"bot$"))
    loaded(page)


@pytest.mark.timeout(600)  # a hang guard: it takes about a minute
def test_a_trader_sees_a_bot_trade_live_an_admin_halts_it_and_others_see_nothing(
    browser: Browser,
    platform: Platform,  # the browser first: without one, no platform
) -> None:
    watch = Watch()

    # 1. Trader A: sign up, connect a funded account, create and start a DCA bot.
    trader = new_context(browser, platform.gateway, watch)
    page = trader.new_page()
    email = new_email("trader-a")
    sign_up(page, email)
    # Gone if the page ever reloads: every update below must arrive without one.
    page.evaluate("window.__marker = 1")
    keys = fund_account(platform.venue)  # as the user would at the faucet, in another tab

    nav(page, "Accounts", "Exchange accounts")
    page.get_by_label("Exchange", exact=True).select_option("sim")
    page.get_by_label("API key", exact=True).fill(keys.api_key)
    page.get_by_label("API secret", exact=True).fill(keys.api_secret)
    page.get_by_label("Label", exact=True).fill("my first account")
    page.get_by_label("Valuation asset", exact=True).fill(keys.quote)
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/accounts") and r.request.method == "POST"
    ) as connected:
        page.get_by_role("button", name="Connect", exact=True).click()
    assert connected.value.status == 201, connected.value.text()
    account_id = connected.value.json()["id"]
    accounts = page.get_by_role("table", name="Your exchange accounts")
    expect(accounts.get_by_role("row").filter(has_text="my first account")).to_have_count(1)
    assert keys.api_secret not in page.content(), "the API secret is shown"

    nav(page, "Bots", "Bots")
    # With no bot yet, the empty list offers the same link.
    page.get_by_role("link", name="New bot", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New bot")
    loaded(page)
    page.get_by_label("Account", exact=True).select_option(account_id)
    page.get_by_label("Strategy", exact=True).select_option("dca")
    page.get_by_label("symbol", exact=True).fill(keys.symbol)
    page.get_by_label("quote_amount", exact=True).fill(keys.quote_amount)
    page.get_by_label("interval_s", exact=True).fill("2")
    page.get_by_role("button", name="Create bot", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/bots/(?!new)[0-9a-zA-Z_-]+$"))
    bot_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^dca bot$", re.I))
    loaded(page)

    state = page.get_by_label("Bot state", exact=True)
    if state.inner_text().strip() != "running":  # a new bot waits to be started
        page.get_by_role("button", name="Start", exact=True).click()
    expect(state).to_have_text("running")

    # Its first fill shows, then the next arrives on the page by itself (a buy every 2 s),
    # and the equity moves.
    fill_rows = page.get_by_role("table", name="Fills", exact=True).locator("tbody tr")
    expect(fill_rows.first).to_be_visible(timeout=A_MINUTE)
    expect(fill_rows.nth(fill_rows.count())).to_be_visible(timeout=A_MINUTE)
    nav(page, "Portfolio", "Portfolio")
    equity = page.get_by_label("Equity of my first account", exact=True)
    expect(equity).to_have_text(re.compile(r"\d"), timeout=A_MINUTE)
    first_equity = equity.inner_text()
    expect(equity).not_to_have_text(first_equity, timeout=A_MINUTE)
    assert page.evaluate("window.__marker") == 1, "the page reloaded"

    open_bot(page, bot_id)
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(state).to_have_text("paused")
    page.get_by_role("button", name="Start", exact=True).click()  # trading again, to halt
    expect(state).to_have_text("running")

    # 2. An admin halts trader A's account with a reason; A sees it, then it is released.
    admin_email = new_email("admin")
    ApiUser.register(platform.gateway, admin_email)
    platform.grant_admin(admin_email)
    admin = new_context(browser, platform.gateway, watch).new_page()
    sign_in(admin, admin_email)
    nav(admin, "Kill switches", "Kill switches")
    reason = f"exchange maintenance {uuid.uuid4().hex[:6]}"
    admin.get_by_label("Scope", exact=True).select_option("account")
    admin.get_by_label("Target", exact=True).fill(account_id)
    admin.get_by_label("Reason", exact=True).fill(reason)
    admin.get_by_role("button", name="Engage", exact=True).click()
    engaged = admin.get_by_role("table", name="Engaged kill switches").get_by_role("row")
    expect(engaged.filter(has_text=reason)).to_have_count(1)
    screenshot(admin, 1280, "admin-kill-switch-engaged")

    open_bot(page, bot_id)
    notice = page.get_by_role("status").filter(has_text=reason)
    expect(notice).to_be_visible(timeout=A_MINUTE)
    halted = f"{notice.inner_text()} {state.inner_text()}"
    assert re.search(r"halt|stop|kill", halted, re.I), f"not shown as halted: {halted!r}"
    screenshot(page, 1280, "bot-halted")

    engaged.filter(has_text=reason).get_by_role("button", name="Release").click()
    admin.get_by_role("dialog").get_by_role("button", name="Release kill switch").click()
    expect(engaged.filter(has_text=reason)).to_have_count(0)
    open_bot(page, bot_id)
    expect(page.get_by_role("status").filter(has_text=reason)).to_have_count(0)
    assert page.evaluate("window.__marker") == 1, "the page reloaded"

    # 3. Trader B sees none of A's accounts, bots or portfolio, not even by the bot's URL.
    other = new_context(browser, platform.gateway, watch).new_page()
    other_email = new_email("trader-b")
    sign_up(other, other_email)
    loaded(other)
    expect(other.get_by_label(re.compile("^Equity of"))).to_have_count(0)
    nav(other, "Accounts", "Exchange accounts")
    expect(other.get_by_text("my first account")).to_have_count(0)
    expect(
        other.get_by_role("table", name="Your exchange accounts").locator("tbody tr")
    ).to_have_count(0)
    nav(other, "Bots", "Bots")
    expect(other.locator('a[href^="#/bots/"]:not([href="#/bots/new"])')).to_have_count(0)
    not_found = ApiUser(platform.gateway, other_email).refusal("GET", f"/bots/{bot_id}")
    assert not_found.status_code == 404, not_found.text
    other.goto(f"/#/bots/{bot_id}")
    expect(other.get_by_role("alert")).to_contain_text(not_found.json()["detail"])
    expect(other.get_by_label("Bot state")).to_have_count(0)
    expect(other.get_by_text(keys.symbol)).to_have_count(0)

    # 6. No page broke the Content-Security-Policy or threw.
    for context in (trader, admin.context, other.context):
        context.close()
    assert not watch.problems(), watch.problems()


PAGES = [  # (file name, route, h1 or None when the contract names none, who sees it)
    ("signin", "/signin", "Sign in", "visitor"),
    ("signup", "/signup", "Create your account", "visitor"),
    ("portfolio", "/", "Portfolio", "trader"),
    ("accounts", "/accounts", "Exchange accounts", "trader"),
    ("account", "/accounts/{account}", "main account", "trader"),
    ("bots", "/bots", "Bots", "trader"),
    ("new-bot", "/bots/new", "New bot", "trader"),
    ("bot", "/bots/{bot}", "dca bot", "trader"),
    ("orders", "/orders", None, "trader"),
    ("fills", "/fills", None, "trader"),
    ("admin-users", "/admin/users", None, "admin"),
    ("admin-kill-switches", "/admin/kill-switches", "Kill switches", "admin"),
    ("admin-operations", "/admin/operations", None, "admin"),
    ("admin-dead-letters", "/admin/dead-letters", None, "admin"),
    ("admin-audit", "/admin/audit", None, "admin"),
]


def visit(page: Page, route: str, h1: str | None) -> None:
    page.goto(f"/#{route}")
    heading = page.get_by_role("heading", level=1)
    if h1 is None:
        expect(heading).to_be_visible()
    else:
        expect(heading).to_have_text(re.compile(f"^{re.escape(h1)}$", re.I))
    expect(page.get_by_role("heading", name="Not found")).to_have_count(0)
    loaded(page)
    if route.startswith("/bots/") and route != "/bots/new":  # its chart and fills, drawn
        expect(page.get_by_role("table", name="Fills", exact=True).locator("tbody tr").first
               ).to_be_visible(timeout=A_MINUTE)  # fmt: skip


@pytest.mark.timeout(600)  # a hang guard: it takes about two minutes
def test_every_page_passes_axe_and_fits_a_phone_and_a_desktop(
    browser: Browser,
    platform: Platform,  # the browser first: without one, no platform
) -> None:
    trader_email, admin_email = new_email("trader"), new_email("admin")
    trader = ApiUser.register(platform.gateway, trader_email)
    account_id, bot_id = trader.trading_dca_bot(fund_account(platform.venue), "main account")
    ApiUser.register(platform.gateway, admin_email)
    platform.grant_admin(admin_email)
    emails = {"trader": trader_email, "admin": admin_email}
    pages = [
        (name, route.format(bot=bot_id, account=account_id), h1, who)
        for name, route, h1, who in PAGES
    ]

    watch = Watch()
    overflowing: list[str] = []
    for viewport in (WIDE, NARROW):
        width = viewport["width"]
        for who in ("visitor", "trader", "admin"):
            context = new_context(browser, platform.gateway, watch, viewport=viewport)
            page = context.new_page()
            if who != "visitor":
                sign_in(page, emails[who])
            for name, route, h1, _ in (p for p in pages if p[3] == who):
                visit(page, route, h1)
                screenshot(page, width, name)
                if over := horizontal_overflow(page):
                    overflowing.append(f"{name} ({route}) at {width} px: {over}")
            context.close()

    # axe-core is an injected script, which the dashboard's strict CSP rightly blocks:
    # this pass alone runs in contexts that bypass the CSP (the others checked it).
    assert AXE_SCRIPT.is_file(), f"{AXE_SCRIPT} is missing: run `cd web && npm ci`"
    violations: list[str] = []
    for who in ("visitor", "trader", "admin"):
        context = new_context(browser, platform.gateway, Watch(), bypass_csp=True)
        page = context.new_page()
        if who != "visitor":
            sign_in(page, emails[who])
        for name, route, h1, _ in (p for p in pages if p[3] == who):
            visit(page, route, h1)
            violations += [f"{name} ({route}): {v}" for v in axe_violations(page)]
        context.close()

    problems = [
        *(["axe-core, serious or critical:", *violations] if violations else []),
        *(["sideways scrolling:", *overflowing] if overflowing else []),
        *([watch.problems()] if watch.problems() else []),
    ]
    assert not problems, "\n".join(problems)
