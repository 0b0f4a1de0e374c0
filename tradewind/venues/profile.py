"""What the platform knows of one kind of exchange besides how to connect to it: the
limits it publishes and what each call costs against them, how its refusals are told
apart, and how its order statuses read in the platform's words. Each venue adapter
package (`tradewind.venues.binance`, `…coinbase`, `…generic`, `…simulated`) has one in
its `VenueAdapter` (`venues.adapters`); execution and the ccxt session read them here,
so nothing outside an adapter package knows one exchange from another.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

import msgspec

from tradewind.domain.exact import EXACT
from tradewind.domain.model import Liquidity
from tradewind.domain.rate_limits import RateWindow
from tradewind.venues.port import VenueOrderStatus


class Call(enum.StrEnum):
    """A kind of request execution makes of a venue (the metric label is `label`)."""

    PLACE_ORDER = "place_order"
    CANCEL_ORDER = "cancel_order"
    FETCH_ORDER = "fetch_order"
    FETCH_OPEN_ORDERS = "fetch_open_orders"  # of one symbol
    FETCH_ALL_OPEN_ORDERS = "fetch_all_open_orders"  # of every symbol
    FETCH_BALANCES = "fetch_balances"
    FETCH_FILLS = "fetch_my_fills"
    WATCH_ORDERS = "watch_orders"  # opening an account's order stream

    @property
    def label(self) -> str:
        """The venue method it calls (the `call` label of the venue-call metrics)."""
        return "fetch_open_orders" if self is Call.FETCH_ALL_OPEN_ORDERS else self.value


@dataclass(frozen=True)
class RateRules:
    """A venue's published limits. `per_address`: windows every account's requests from
    one egress address count against, each request by its `costs` (1 for a call not
    listed); `per_account`: windows an account's new orders count against, one each."""

    per_address: tuple[RateWindow, ...]
    per_account: tuple[RateWindow, ...]
    costs: Mapping[Call, int] = field(default_factory=dict)

    def cost(self, call: Call) -> int:
        return self.costs.get(call, 1)


_CODE = re.compile(r'"code"\s*:\s*"?(-?\d+)')


def code_in_message(message: str, body: str | None = None) -> int | None:
    """A venue's error code as ccxt's message quotes it (a JSON `"code": N` of the body
    ccxt put in the message), None without one; `body` is not read. Any venue's default."""
    match = _CODE.search(message)
    return int(match.group(1)) if match else None


class Refusal(enum.Enum):
    """What a venue's refusal means to the platform, beyond what ccxt's exception says."""

    DUPLICATE_CLIENT_ID = "duplicate client order id"  # an order with the id exists
    ACCOUNT_RATE_LIMITED = "account rate limited"  # the account's order count, not the IP
    UNKNOWN_ORDER = "unknown order"  # the venue has no such order of the account
    ORDER_REFUSED = "order refused"  # the order itself was refused (ccxt: a bare error)


class StreamFill(msgspec.Struct, frozen=True, kw_only=True):
    """One execution as a venue's order-stream message tells it (`VenueProfile.stream_fill`):
    the amounts exact from the message's own decimal strings, `fee` in `fee_asset` (the
    venue's id of the asset), `quote_quantity` the quote the venue moved (None: the
    message does not say), `ts_ms` the trade's time. The order it belongs to is the
    update's own (`venue_order_id` says which, to check)."""

    trade_id: str
    venue_order_id: str
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal | None
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    ts_ms: int


@dataclass(frozen=True)
class VenueProfile:
    """One kind of venue as execution and the ccxt session see it.

    - `limits`: the published limits execution paces by; None where none are known
      (ccxt's own limiter paces such a venue, or none is needed: in-process).
    - `error_code`: reads the venue's own error code of a refusal from ccxt's message
      and the last HTTP body ccxt read (None: no code); by default a `"code": N` the
      message quotes.
    - `refusal_codes` / `refusal_phrases`: the venue's error codes, and fragments of its
      messages, that mean a `Refusal` (a code shared by several refusals is told apart
      by its message).
    - `statuses`: the venue's raw order status names (its payload's `status_fields`) and
      the platform's status each means; `None` for one that is open, to be settled by
      the filled quantity.
    - `raw_fields`: for exactness, the names under which the venue's raw payload
      (ccxt's `info`) keeps each field ccxt parsed into a float (see `ccxt_mapping.exact`).
    - `quote_step`: how the venue rounds the quote amount a fill moves (price x quantity,
      rounded down to this step), for fills it reports without that amount (the fills
      of a placement's answer, a trade whose `cost` ccxt computed); None where unknown
      (the books then take the product).
    - `client_order_id_param`: the ccxt `create_order` param that carries the client
      order id to the venue (ccxt's unified `clientOrderId`, or the venue's own name
      where ccxt's exchange drops the unified one: Coinbase's `client_order_id`).
    - `orders_by_client_id`: whether ccxt looks an order up, and cancels it, by the
      client order id (its `clientOrderId` param); False where only the venue's order id
      names it (Coinbase): it is found first among the account's orders.
    - `market_buy_params`: extra ccxt `create_order` params of a market buy of the given
      quantity (ccxt's text), where ccxt's exchange would otherwise spend a quote amount
      (Coinbase's `quote_size`) whose fills can exceed the quantity the platform asked
      for; None: none needed.
    - `history_pages`: whether the account's fills and orders of a period come a page at
      a time, newest first (Coinbase's cursor paging): ccxt is asked to follow every
      page (its `paginate`), or the oldest ones would be missed.
    - `stream_catch_up`: whether the order stream starts without what happened before it
      (a snapshot of open orders at most) and may open long after the session: once it
      is live, the orders since the session began are read and reported
      (`CcxtVenue.watch_orders`).
    - `stream_fill`: reads one raw message of the order stream (ccxt's `info` of a
      `watch_orders` update, or of a trade ccxt kept with the order) into the execution
      it reports, None for a message of no execution (or one it cannot read exactly);
      None where the venue's order stream carries no per-execution trade ids: an order
      the stream shows filled then has its fills read apart (`Venue.fetch_my_fills`).
    - `candles_per_request`: the most candles one request returns (a history is read in
      pages of that many, newest first).
    - `stream_openings_per_s`: how many streams (a WebSocket connection, a subscription)
      one process opens a second at the venue, its sessions together; None: no limit.
    - `public_requests_per_s`: how many public REST requests (market data: ccxt's
      `public` API) one process sends a second at a venue that limits them per IP
      address, its sessions leaving from one address together (`CcxtVenue`); None: each
      session as ccxt's own limiter paces it (no such limit, or one execution's gate
      counts already: Binance's weight per address).
    """

    kind: str
    limits: RateRules | None = None
    error_code: Callable[[str, str | None], int | None] = code_in_message
    refusal_codes: Mapping[int, Refusal] = field(default_factory=dict)
    refusal_phrases: tuple[tuple[str, Refusal], ...] = ()
    statuses: Mapping[str, VenueOrderStatus | None] = field(default_factory=dict)
    status_fields: tuple[str, ...] = ()
    raw_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    quote_step: Decimal | None = None
    client_order_id_param: str = "clientOrderId"
    orders_by_client_id: bool = True
    market_buy_params: Callable[[str], Mapping[str, Any]] | None = None
    history_pages: bool = False
    stream_catch_up: bool = False
    stream_fill: Callable[[Mapping[str, Any]], StreamFill | None] | None = None
    candles_per_request: int = 100
    stream_openings_per_s: float | None = None
    public_requests_per_s: float | None = None

    def refusal(self, code: int | None, message: str) -> Refusal | None:
        """What the refusal with `code` (None: none given) and `message` means; None for
        nothing more than ccxt's exception says."""
        for phrase, meaning in self.refusal_phrases:
            if phrase in message:
                return meaning
        return None if code is None else self.refusal_codes.get(code)

    def quote_of(self, price: Decimal, quantity: Decimal) -> Decimal | None:
        """The quote amount a fill of `quantity` at `price` moves at this venue; None
        where its rounding is unknown."""
        if self.quote_step is None:
            return None
        return EXACT.multiply(price, quantity).quantize(self.quote_step, rounding=ROUND_DOWN)

    def raw(self, name: str) -> tuple[str, ...]:
        """The raw payload's names for the field `name` (`ccxt_mapping`'s names:
        quantity, filled, cost, price, average, client_order_id, quote_quantity, …)."""
        return self.raw_fields.get(name, ())


GENERIC = VenueProfile("generic")
"""A venue known only through ccxt's unified structures: no published limits, no raw
fields, every refusal as ccxt classifies it, 100 candles a request (few venues return
fewer)."""
