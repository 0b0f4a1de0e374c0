"""The role -> permission table."""

from __future__ import annotations

from tradewind.gateway.rbac import ROLE_PERMISSIONS, Permission, Role, allows, permissions_of


def test_admin_holds_every_permission_and_every_role_is_mapped() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_viewers_read_and_never_write() -> None:
    viewer = permissions_of(["viewer"])
    assert all(p.value.endswith(":read") for p in viewer)


def test_roles_add_up_and_unknown_roles_grant_nothing() -> None:
    assert allows(["viewer", "operator"], Permission.KILL_SWITCHES_WRITE)
    assert allows(["viewer", "operator"], Permission.PORTFOLIO_READ)
    assert permissions_of(["superuser", ""]) == frozenset()
