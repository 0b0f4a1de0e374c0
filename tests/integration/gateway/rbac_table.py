"""Who may call which route: the table the RBAC and tenant-isolation tests check the
app against, written out independently of `tradewind.gateway.rbac` on purpose (a change
of who may do what must be made twice, and a new route fails the tests until it is
added here)."""

from __future__ import annotations

ALL = frozenset({"admin", "operator", "trader", "viewer", "service"})
CUSTOMERS = frozenset({"admin", "trader", "viewer"})
TRADING = frozenset({"admin", "trader"})
OPERATIONS = frozenset({"admin", "operator", "service"})
PUBLIC = "public"
#: Public too, but only for the dashboard's own page: without `X-Tradewind-Web: 1` they
#: answer 403 `csrf` to anyone (test_web_session.py checks them with it).
WEB_SESSION = "web session"

EXPECTED: dict[tuple[str, str], frozenset[str] | str] = {
    ("POST", "/api/v1/auth/register"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): PUBLIC,
    ("POST", "/api/v1/auth/session"): WEB_SESSION,
    ("POST", "/api/v1/auth/session/refresh"): WEB_SESSION,
    ("POST", "/api/v1/auth/session/end"): WEB_SESSION,
    ("GET", "/api/v1/venues"): CUSTOMERS | {"operator"},
    ("GET", "/api/v1/accounts/{account_id}/candles"): CUSTOMERS,
    ("GET", "/api/v1/me"): ALL - {"service"},
    ("POST", "/api/v1/accounts"): TRADING,
    ("GET", "/api/v1/accounts"): CUSTOMERS,
    ("GET", "/api/v1/accounts/{account_id}"): CUSTOMERS,
    ("POST", "/api/v1/accounts/{account_id}/verify"): TRADING,
    ("DELETE", "/api/v1/accounts/{account_id}"): TRADING,
    ("GET", "/api/v1/strategies"): CUSTOMERS,
    ("GET", "/api/v1/strategies/{name}"): CUSTOMERS,
    ("POST", "/api/v1/bots"): TRADING,
    ("GET", "/api/v1/bots"): CUSTOMERS,
    ("GET", "/api/v1/bots/{bot_id}"): CUSTOMERS,
    ("GET", "/api/v1/bots/{bot_id}/analytics"): CUSTOMERS,
    ("GET", "/api/v1/bots/{bot_id}/next-rebalance"): CUSTOMERS,
    ("GET", "/api/v1/bots/{bot_id}/risk-limits"): CUSTOMERS,
    ("PUT", "/api/v1/bots/{bot_id}/risk-limits"): TRADING,
    ("POST", "/api/v1/bots/{bot_id}/start"): TRADING,
    ("POST", "/api/v1/bots/{bot_id}/pause"): TRADING,
    ("POST", "/api/v1/bots/{bot_id}/stop"): TRADING,
    ("DELETE", "/api/v1/bots/{bot_id}"): TRADING,
    ("GET", "/api/v1/portfolio"): CUSTOMERS,
    ("GET", "/api/v1/accounts/{account_id}/portfolio"): CUSTOMERS,
    ("GET", "/api/v1/orders"): CUSTOMERS,
    ("GET", "/api/v1/fills"): CUSTOMERS,
    ("GET", "/api/v1/accounts/{account_id}/equity"): CUSTOMERS,
    ("GET", "/api/v1/accounts/{account_id}/analytics"): CUSTOMERS,
    ("GET", "/api/v1/accounts/{account_id}/risk-limits"): CUSTOMERS,
    ("PUT", "/api/v1/accounts/{account_id}/risk-limits"): TRADING,
    ("POST", "/api/v1/accounts/{account_id}/risk-limits/resume"): TRADING,
    ("GET", "/api/v1/admin/risk-limits"): OPERATIONS,
    ("PUT", "/api/v1/admin/risk-limits"): frozenset({"admin"}),
    ("GET", "/api/v1/admin/users"): frozenset({"admin", "operator"}),
    ("PUT", "/api/v1/admin/users/{user_id}/roles"): frozenset({"admin"}),
    ("POST", "/api/v1/admin/users/{user_id}/disable"): frozenset({"admin"}),
    ("POST", "/api/v1/admin/users/{user_id}/enable"): frozenset({"admin"}),
    ("POST", "/api/v1/admin/users/{user_id}/unlock"): frozenset({"admin"}),
    ("GET", "/api/v1/admin/kill-switches"): OPERATIONS,
    ("POST", "/api/v1/admin/kill-switches"): OPERATIONS,
    ("POST", "/api/v1/admin/kill-switches/release"): OPERATIONS,
    ("GET", "/api/v1/admin/health"): OPERATIONS,
    ("GET", "/api/v1/admin/analytics"): OPERATIONS,
    ("GET", "/api/v1/admin/analytics/performance"): OPERATIONS,
    ("GET", "/api/v1/admin/breakers"): OPERATIONS,
    ("GET", "/api/v1/admin/dead-letters"): OPERATIONS,
    ("GET", "/api/v1/admin/audit"): frozenset({"admin", "operator"}),
}
