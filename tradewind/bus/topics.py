"""The platform's topics. Account events are keyed by account id; market data by
`Instrument.key` (`venue:BASE/QUOTE`).

| topic | events | key |
|---|---|---|
| md.trade / md.book / md.bar | TradeTick / OrderBookSnapshot, OrderBookUpdate / Bar | instrument |
| orders.intent | OrderIntent from strategies | account |
| orders.approved | OrderIntent that passed risk | account |
| orders.cancel | OrderCancelRequest from strategies | account |
| orders.rejected | OrderRejected by risk (also copied to orders.events) | account |
| orders.events | OrderAccepted/...; Fill; BalanceUpdate (venue truth) | account |
| portfolio.updates | PortfolioUpdate | account |
| bot.commands | BotCommand | account |
| risk.controls | KillSwitchChanged | scope:target |
| account.balances | BalancesRequested (risk asks execution for the venue's balances) | account |
| md.leases | none: who reads a partition in group marketdata publishes its markets | instrument |
"""

from __future__ import annotations

from tradewind.bus.port import dead_letter_topic

MD_TRADE = "md.trade"
MD_BOOK = "md.book"
MD_BAR = "md.bar"
ORDERS_INTENT = "orders.intent"
ORDERS_APPROVED = "orders.approved"
ORDERS_CANCEL = "orders.cancel"
ORDERS_REJECTED = "orders.rejected"
ORDERS_EVENTS = "orders.events"
PORTFOLIO_UPDATES = "portfolio.updates"
BOT_COMMANDS = "bot.commands"
RISK_CONTROLS = "risk.controls"  # KillSwitchChanged, keyed by scope:target
ACCOUNT_BALANCES = "account.balances"  # BalancesRequested, keyed by account
ANALYTICS_UPDATES = "analytics.updates"  # AnalyticsUpdate, keyed by account
# Never published to (so not in ALL: no dead letters); its group assignment says which
# marketdata instance publishes which market.
MD_LEASES = "md.leases"

ALL = (
    MD_TRADE,
    MD_BOOK,
    MD_BAR,
    ORDERS_INTENT,
    ORDERS_APPROVED,
    ORDERS_CANCEL,
    ORDERS_REJECTED,
    ORDERS_EVENTS,
    PORTFOLIO_UPDATES,
    BOT_COMMANDS,
    RISK_CONTROLS,
    ACCOUNT_BALANCES,
    ANALYTICS_UPDATES,
)
DEAD_LETTERS = tuple(dead_letter_topic(t) for t in ALL)
