"""Roles, permissions, and the table that maps one to the other.

Every route declares the one permission it needs (`routes_*.py`, through
`deps.require`); a caller may use it if any of its roles grants it. Permissions never
widen what a caller sees: object routes always look objects up within the caller's own
user id, so even an admin only ever sees their own exchange accounts, bots and
portfolios ("a user only ever sees their own accounts"). What admin adds is the
operator's and user-management routes.

| role | for |
|---|---|
| admin | everything: users and roles, plus what operator and trader do |
| operator | runs the platform: health, breakers, kill switches, audit log, user list |
| trader | a customer: connects exchange accounts, runs bots, reads their portfolio |
| viewer | a customer's read-only login: sees accounts, bots and portfolio, changes nothing |
| service | another program (an alerting hook): health, breakers, kill switches |
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType


class Role(enum.StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    TRADER = "trader"
    VIEWER = "viewer"
    SERVICE = "service"


class Permission(enum.StrEnum):
    """What a route needs; `<object>:<verb>`."""

    SELF_READ = "self:read"
    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    BOTS_READ = "bots:read"
    BOTS_WRITE = "bots:write"
    PORTFOLIO_READ = "portfolio:read"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    KILL_SWITCHES_READ = "kill_switches:read"
    KILL_SWITCHES_WRITE = "kill_switches:write"
    RISK_CEILING_WRITE = "risk_ceiling:write"  # the platform's ceiling over risk limits
    OPERATIONS_READ = "operations:read"
    AUDIT_READ = "audit:read"
    VENUES_READ = "venues:read"  # which venues accounts can be connected to


_P = Permission
_CUSTOMER_READ = frozenset(
    {_P.SELF_READ, _P.ACCOUNTS_READ, _P.BOTS_READ, _P.PORTFOLIO_READ, _P.VENUES_READ},
)
_OPERATIONS = frozenset(
    {
        _P.SELF_READ,
        _P.OPERATIONS_READ,
        _P.KILL_SWITCHES_READ,
        _P.KILL_SWITCHES_WRITE,
    }
)

#: The single source of truth for who may do what.
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(Permission),
        Role.OPERATOR: _OPERATIONS | {_P.AUDIT_READ, _P.USERS_READ, _P.VENUES_READ},
        Role.TRADER: _CUSTOMER_READ | {_P.ACCOUNTS_WRITE, _P.BOTS_WRITE},
        Role.VIEWER: _CUSTOMER_READ,
        Role.SERVICE: _OPERATIONS - {_P.SELF_READ},
    }
)

#: What a new user gets on registration.
DEFAULT_ROLES: tuple[Role, ...] = (Role.TRADER,)


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    """Every permission that `roles` grant together; unknown role names grant nothing
    (a token minted before a role was retired keeps no power)."""
    granted: set[Permission] = set()
    for name in roles:
        try:
            granted |= ROLE_PERMISSIONS[Role(name)]
        except ValueError:
            continue
    return frozenset(granted)


def allows(roles: Iterable[str], permission: Permission) -> bool:
    """Whether a caller holding `roles` may use a route that needs `permission`."""
    return permission in permissions_of(roles)
