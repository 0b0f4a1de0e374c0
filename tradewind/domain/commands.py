"""The domain's commands: what one part of the platform asks another to do, as frozen
msgspec Structs. A command asks (and may be refused); an event (`events.py`) states a
fact.

Commands travel the bus in the same envelope as events and are tagged the same way (the
`type` field on the wire names them), so one decoder reads both (`Command` beside
`events.Event`). Times are integers in nanoseconds since the Unix epoch (UTC). Money and
quantities are `Decimal`.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tradewind.domain.bot_lifecycle import BotAction
from tradewind.domain.model import Instrument, OrderType, Side, TimeInForce


class BaseCommand(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    """Base of every command; the subclass's `tag` is its type on the wire."""


class OrderIntent(BaseCommand, frozen=True, kw_only=True, tag="order.intent"):
    """A bot's wish to trade. `intent_id` is unique per bot and stable across retries,
    so the client order id derived from it places the order at most once."""

    account_id: str
    bot_id: str
    intent_id: str
    instrument: Instrument
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    ts_ns: int


class OrderCancelRequest(BaseCommand, frozen=True, kw_only=True, tag="order.cancel_request"):
    """Cancel the open order `client_order_id` (derived from `account_id`, `bot_id` and
    `intent_id`). Execution ignores a request for an order that is already finished;
    `reason` is for the user ("bot stopped", "canceled by the strategy")."""

    account_id: str
    bot_id: str
    intent_id: str
    client_order_id: str
    instrument: Instrument
    reason: str
    ts_ns: int


class BalancesRequested(BaseCommand, frozen=True, kw_only=True, tag="account.balances_requested"):
    """Publish the venue's balances of `account_id` now (asked of execution): risk asks
    when it must decide for an account whose balances it has not seen, e.g. after a
    restart or when the account's partition moved to it."""

    account_id: str
    requested_by: str
    ts_ns: int


class BotCommand(BaseCommand, frozen=True, tag="bot.command"):
    """Bring bot `bot_id` of `account_id` to the state `action` leads to
    (`bot_lifecycle`); `issued_by` is the user id, or the service, that gave it. The
    strategy service applies it unless the bot's row changed after `ts_ns`."""

    account_id: str
    bot_id: str
    action: BotAction
    issued_by: str
    ts_ns: int


Command = OrderIntent | OrderCancelRequest | BalancesRequested | BotCommand
