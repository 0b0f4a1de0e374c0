"""The API's request and response bodies (Pydantic, at the HTTP edge only).

Strings that reach the database are bounded to their column's size and refuse control
characters (NUL breaks PostgreSQL text), so a bad value is a 422 naming the field, never
a database error. Money is a decimal *string* in JSON (`"27123.5"`), never a float.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    create_model,
)

from tradewind.domain.analytics_figures import AccountFigures, wire_name
from tradewind.gateway.rbac import Role
from tradewind.store.database import as_utc

_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"

#: An object id as the API hands them out (uuid4 hex; the refresh family id is longer).
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
#: A venue or strategy name: `sim`, `binance`, `grid`.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Asset = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,16}$")]
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("not an e-mail address like name@example.org")
    return value


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Label = Annotated[str, StringConstraints(max_length=128, pattern=_NO_CONTROL_CHARS)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=_NO_CONTROL_CHARS)]
ApiKeyText = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=_NO_CONTROL_CHARS)
]
ApiSecretText = Annotated[
    str, StringConstraints(min_length=1, max_length=512, pattern=_NO_CONTROL_CHARS)
]
RefreshTokenText = Annotated[str, StringConstraints(min_length=1, max_length=256)]


#: A point in time, always with its zone (UTC) in JSON: `2026-01-02T03:04:05Z`.
Timestamp = Annotated[datetime, AfterValidator(as_utc)]

_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _not_a_number(value: object) -> object:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected an ISO 8601 time such as 2026-12-06T09:00:00Z, not a number")
    return value


#: A point in time a client sends in a query: ISO 8601 only, as the schema says (pydantic
#: would also take a number as Unix seconds, which the schema does not allow).
QueryTime = Annotated[datetime, BeforeValidator(_not_a_number)]

#: An exact amount, written in JSON as a plain decimal string: `"0.000001"`, not `1e-06`.
Money = Annotated[
    Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")
]

T = TypeVar("T")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(_Response, Generic[T]):
    """One page of a list: `next_offset` is where the next page starts, or null at the
    end."""

    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


def page(items: list[T], limit: int, offset: int) -> Page[T]:
    """A page from a query that fetched `limit + 1` rows to learn whether more follow."""
    more = len(items) > limit
    return Page[T](
        items=items[:limit],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


# -- auth -----------------------------------------------------------------------------


class Credentials(_Request):
    email: Email
    password: Password


class RefreshRequest(_Request):
    refresh_token: RefreshTokenText


class TokenPair(_Response):
    """`access_token` goes in `Authorization: Bearer`; it expires in `expires_in`
    seconds. `refresh_token` buys a new pair once (`POST /auth/refresh`)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_at: Timestamp


class SessionTokens(_Response):
    """A browser session's access token (`Authorization: Bearer`), expiring in
    `expires_in` seconds; its refresh token is in the `tradewind_refresh` cookie."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class RegistrationAccepted(_Response):
    """The same answer for a new and a taken address (see `POST /auth/register`)."""

    status: str = "accepted"
    detail: str


class UserView(_Response):
    """A user; `email` is masked (`a***@example.org`): the API never returns it whole."""

    id: str
    email: str
    roles: list[str]
    created_at: Timestamp


class AdminUserView(UserView):
    """A user as administrators see them: `failed_logins` counts failed logins since the
    last success (every source); `locked_until` is the latest time until which some
    source must wait before trying again (`POST .../unlock` clears the waits)."""

    disabled: bool
    failed_logins: int
    locked_until: Timestamp | None


class RolesChange(_Request):
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(Role))]


# -- exchange accounts ----------------------------------------------------------------


class AccountConnect(_Request):
    venue: Name
    api_key: ApiKeyText
    api_secret: ApiSecretText
    label: Label = ""
    valuation_asset: Asset = "USDT"


class AccountView(_Response):
    """An exchange account; `api_key` is masked (`abcd…wxyz`), the secret never shown."""

    id: str
    venue: str
    label: str
    api_key: str
    valuation_asset: str
    status: str
    created_at: Timestamp
    verified_at: Timestamp | None


class KeyCheckView(_Response):
    can_trade: bool
    can_withdraw: bool
    can_transfer: bool
    ip_restricted: bool
    refusal: str | None


class AccountVerification(_Response):
    account: AccountView
    check: KeyCheckView


# -- bots -----------------------------------------------------------------------------


class BotCreate(_Request):
    account_id: Id
    strategy: Name
    params: Annotated[dict[str, Any], Field(max_length=64)] = {}


class HaltedByView(_Response):
    """The engaged kill switch that stops a bot's new orders: the broadest of the global
    one, its venue's, its account's and its own."""

    scope: Literal["global", "venue", "account", "bot"]
    target: str
    reason: str
    engaged_at: Timestamp


class BotView(_Response):
    id: str
    account_id: str
    strategy: str
    params: dict[str, Any]
    state: Literal["running", "paused", "stopped"]
    paused_reason: str | None = Field(
        default=None,
        description="Why the bot's drawdown limit paused it (null: it did not); cleared "
        "when the bot is started, paused or stopped by its owner",
    )
    halted_by: HaltedByView | None = Field(
        default=None,
        description="The kill switch that stops this bot's orders (null: none does)",
    )
    created_at: Timestamp
    updated_at: Timestamp


class StrategyView(_Response):
    name: str
    params_schema: dict[str, Any]


# -- reads ----------------------------------------------------------------------------


class PortfolioView(_Response):
    """An account's latest valuation in `valuation_asset`; `source` is `live` (from the
    portfolio service's stream) or `snapshot` (the newest stored snapshot)."""

    account_id: str
    valuation_asset: str
    equity: Money
    cash: Money
    realized_pnl: Money
    unrealized_pnl: Money
    fees: Money
    balances: dict[str, Money]
    as_of: Timestamp
    source: Literal["live", "snapshot"]


class OrderView(_Response):
    client_order_id: str
    account_id: str
    bot_id: str
    venue: str
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Money
    price: Money | None
    state: str
    filled_quantity: Money
    average_price: Money | None
    reason: str
    created_at: Timestamp
    updated_at: Timestamp


class FillView(_Response):
    account_id: str
    trade_id: str
    client_order_id: str
    symbol: str
    side: str
    price: Money
    quantity: Money
    fee: Money
    fee_asset: str
    liquidity: str
    executed_at: Timestamp
    bot_id: str | None = Field(
        default=None, description="The bot whose order this filled (null: not a bot's order)"
    )


class EquityPoint(_Response):
    at: Timestamp
    equity: Money


def _wire_type(field: str, kind: Any) -> Any:
    """The API's type of an `AccountFigures` field: times (`_ns`) ISO 8601 strings (as
    `figures_json` writes them), money `Money`, the rest as they are."""
    if field.endswith("_ns"):
        return str | None
    if kind is Decimal:
        return Money
    if kind == Decimal | None:
        return Money | None
    return kind


#: `AccountFigures` as the API writes it (`figures_json`): derived from the one model,
#: so the API's metric names and the pushed `AnalyticsUpdate`'s cannot drift apart.
_FIGURE_FIELDS: dict[str, Any] = {
    wire_name(f.name): (_wire_type(f.name, f.type), ...)
    for f in msgspec.structs.fields(AccountFigures)
}
FiguresView: type[BaseModel] = create_model(
    "FiguresView",
    __base__=_Response,
    __doc__=(
        "An account's performance and risk figures under the names of docs/analytics.md: "
        "ratios and returns as fractions, times ISO 8601 UTC, money as decimal strings, "
        "null where the series cannot define one."
    ),
    **_FIGURE_FIELDS,
)


class AnalyticsView(_Response):
    """An account's performance and risk over a window, computed from its valuations in
    the record (docs/analytics.md): `metrics` by the names backtests use; `equity` the
    series at `resolution` (one point per period, flat periods filled in)."""

    account_id: str
    valuation_asset: str | None
    resolution: Literal["minute", "hour", "day"]
    start: Timestamp
    end: Timestamp
    metrics: FiguresView  # type: ignore[valid-type]
    equity: list[EquityPoint]


class HoldingView(_Response):
    symbol: str
    quantity: Money
    average_cost: Money | None


class BotQuoteResultsView(_Response):
    """A bot's results in one quote asset (docs/analytics.md, "Bots")."""

    quote: str
    realized_pnl: Money
    fees: Money
    bought: Money
    sold: Money
    volume: Money
    trades: int
    win_rate: float | None
    profit_factor: float | None
    average_win: Money | None
    average_loss: Money | None
    holdings: list[HoldingView]


class BotPnlPoint(_Response):
    at: Timestamp
    pnl: Money


class BotAnalyticsView(_Response):
    """One bot's results from its own fills: what it realised (at average cost), paid in
    fees and traded, its closed trades' statistics and what it still holds, per quote
    asset; `fills` counted (at most the newest 100,000, `truncated` if there were more);
    fees in neither the base nor the quote asset listed apart, not valued."""

    bot_id: str
    account_id: str
    fills: int
    truncated: bool
    by_quote: list[BotQuoteResultsView]
    unvalued_fees: dict[str, Money]
    resolution: Literal["minute", "hour", "day"]
    start: Timestamp
    end: Timestamp
    quote: str | None = Field(description="The asset of `pnl` (the account's valuation asset)")
    pnl: list[BotPnlPoint] = Field(
        description="The bot's recorded PnL (realised + unrealised - fees) at `resolution`: "
        "each period's last, flat periods filled in"
    )
    current_drawdown: float | None = Field(
        description="The fall of the PnL from its peak in the window, over the account's "
        "equity at the peak (<= 0); null without a recorded PnL"
    )
    max_drawdown: float | None = Field(description="The deepest `current_drawdown` of the window")
    var_95: float | None = Field(
        description="The one-minute 95 % historical VaR of the PnL over the window's recorded "
        "minutes, each minute's change over the account's equity at its start (<= 0 for a "
        "loss); null without a return"
    )
    var_periods: int = Field(description="The one-minute returns `var_95` was taken over")


# -- operations -----------------------------------------------------------------------

KillScopeName = Literal["global", "venue", "account", "bot"]


KillTargetText = Annotated[str, StringConstraints(max_length=64, pattern=_NO_CONTROL_CHARS)]


class PlannedOrderView(_Response):
    """A market order the next rebalance would place; `value`: its estimate in quote at
    the last price."""

    side: Literal["BUY", "SELL"]
    symbol: str
    quantity: Money
    value: Money


class AssetWeightView(_Response):
    """An asset's share of the bot's equity now and after the planned fills."""

    asset: str
    before: float
    after: float


class RiskFiguresView(_Response):
    """Herfindahl index of the weights (1: all in one asset) and the largest weight."""

    concentration: float | None
    largest_weight: float | None


class NextRebalanceView(_Response):
    """What a `rebalance` bot's next rebalance would place and the risk before and
    after (docs/analytics.md, "The next rebalance"). Money in `quote`."""

    bot_id: str
    account_id: str
    quote: str
    orders: list[PlannedOrderView]
    equity: Money
    traded: Money
    traded_fraction: float | None
    fee_rate: Money
    fee_rate_source: Literal["venue", "assumed"]
    fees: Money
    rounded: bool
    weights: list[AssetWeightView]
    before: RiskFiguresView
    after: RiskFiguresView
    balances_as_of: datetime
    prices_as_of: datetime
    notes: list[str]


class KillSwitchRelease(_Request):
    """`target` is "" for `global`, else the venue name, the account id or the bot id."""

    scope: KillScopeName
    target: KillTargetText = ""


class KillSwitchEngage(KillSwitchRelease):
    """`reason` is shown to every user whose orders the switch stops."""

    reason: Reason


class KillSwitchView(_Response):
    scope: str
    target: str
    reason: str
    actor_id: str | None
    engaged_at: Timestamp


class DeadLetterView(_Response):
    """An event a service gave up on: where it failed (`topic`, consumer `group`), why,
    after how many attempts, the original event's id and the dead letter's own."""

    topic: str
    group: str
    reason: str
    attempts: int
    event_id: str
    dead_letter_id: str
    dead_lettered_at: Timestamp


class KillSwitchOutcome(_Response):
    """`published` says whether risk was told on `risk.controls` (`routes_admin.py`)."""

    switch: KillSwitchView | None
    changed: bool
    published: bool


#: A fraction of equity a risk limit can be, sent as a decimal string: `"0.1"` for 10 %.
LimitFraction = Annotated[
    Decimal,
    # 18 places: the record's NUMERIC(38, 18) would round more away without a word.
    Field(gt=0, lt=1, allow_inf_nan=False, decimal_places=18),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]


class RiskLimitsBody(_Request):
    """Fractions of equity (`"0.1"` for 10 %); null or left out: no limit on that figure.
    `max_drawdown`: halt at a fall this deep from the peak of the analytics window;
    `max_var_95`: halt when the one-minute 95 % VaR is a loss this large."""

    max_drawdown: LimitFraction | None = None
    max_var_95: LimitFraction | None = None


class RiskLimitsView(_Response):
    max_drawdown: Money | None
    max_var_95: Money | None


class LimitInForce(_Response):
    """A limit that applies and who set it: the account's (or bot's) owner or the
    platform."""

    value: Money
    set_by: Literal["account", "bot", "platform"]


class EffectiveLimitsView(_Response):
    max_drawdown: LimitInForce | None
    max_var_95: LimitInForce | None


class AccountRiskLimitsView(_Response):
    """The account's own limits, the platform's ceiling, what applies (the tighter of the
    two per figure) and, when trading on it is halted, the switch that halts it."""

    account: RiskLimitsView
    platform: RiskLimitsView
    effective: EffectiveLimitsView
    halted: KillSwitchView | None


class BotRiskLimitsBody(_Request):
    """Fractions of the account's equity (`"0.1"` for 10 %); null or left out: no limit
    on that figure. The bot is paused when its PnL falls `max_drawdown` from its peak of
    the analytics window (measured against the account's equity at that peak), or when
    its one-minute 95 % VaR is a loss of `max_var_95` of the account's equity or more
    (counted once the window holds 60 one-minute returns)."""

    max_drawdown: LimitFraction | None = None
    max_var_95: LimitFraction | None = None


class BotRiskLimitsView(_Response):
    """The bot's own limits, the platform's ceiling, those in force (the tighter per
    figure) and, when a limit paused it, why."""

    bot: RiskLimitsView
    platform: RiskLimitsView
    effective: EffectiveLimitsView
    paused_reason: str | None


class ValuationTotalView(_Response):
    """Every account valued in `valuation_asset`: their newest valuations summed."""

    valuation_asset: str
    accounts: int
    equity: Money
    realized_pnl: Money
    unrealized_pnl: Money
    fees: Money
    newest: Timestamp


class PlatformAnalyticsView(_Response):
    """The platform at a glance, for operators: accounts and their money per valuation
    asset, bots per state, accounts halted by a kill switch (their own, or their risk
    limits')."""

    accounts: int
    bots: dict[str, int]
    halted_accounts: int
    halted_by_risk_limits: int
    by_valuation_asset: list[ValuationTotalView]


class PlatformPerformanceView(_Response):
    """The platform's performance in one valuation asset over a window: every account's
    valuations summed, each account's deposits and withdrawals (and its arrival) taken
    out as flows of the whole (docs/analytics.md); `metrics` by the names an account's
    analytics use; `equity` the summed series at `resolution`, flat periods filled in."""

    valuation_asset: str
    accounts: int
    resolution: Literal["minute", "hour", "day"]
    start: Timestamp
    end: Timestamp
    metrics: FiguresView  # type: ignore[valid-type]
    equity: list[EquityPoint]


class ServiceHealth(_Response):
    """One instance of a service; `instance`: the process it runs in (`host:pid`)."""

    name: str
    instance: str
    status: Literal["ready", "not_ready", "unknown"]


class BreakerView(_Response):
    """A venue's breaker in one execution instance (`host:pid`); `instance` null and
    `state` `unknown` when no instance reports the venue."""

    venue: str
    instance: str | None
    state: str


class AuditEntryView(_Response):
    id: int
    at: Timestamp
    actor_id: str | None
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]
    source_ip: str


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error: a sentence, a stable code, and the fields at fault."""

    detail: str
    code: str
    errors: list[ErrorItem] = []


# -- venues and market data -------------------------------------------------------------


class VenueView(_Response):
    """A venue accounts can be connected to: `kind` is `simulated` (the platform's own
    exchange) or `exchange` (a real one); `adapter` is the declared adapter of a real
    one (`binance`, `coinbase`, `ccxt:kraken` …), null for a simulated one."""

    name: str
    kind: Literal["simulated", "exchange"]
    adapter: str | None


class CandleView(_Response):
    """One closed candle: `ts` is its open time in ms since the Unix epoch (UTC), it
    spans `[ts, ts + interval)`; prices in the quote asset, `volume` in the base asset."""

    ts: int
    open: Money
    high: Money
    low: Money
    close: Money
    volume: Money
