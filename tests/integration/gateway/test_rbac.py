"""Every route x every role: allowed or denied exactly as `rbac_table.EXPECTED` says."""

from __future__ import annotations

import pytest

from tests.integration.gateway.rbac_table import ALL, EXPECTED, PUBLIC, WEB_SESSION
from tests.integration.gateway.support import Api, User
from tradewind.gateway.app import api_routes, create_app

_PATH_VALUES = {"account_id": "0" * 32, "bot_id": "0" * 32, "user_id": "0" * 32, "name": "dca"}


async def test_the_table_names_every_route_of_the_app(sqlite_api: Api) -> None:
    routes = {(method, path) for method, path, _ in api_routes(create_app(sqlite_api.state))}
    assert routes == set(EXPECTED), "add new routes to EXPECTED (and remove gone ones)"


@pytest.mark.parametrize("role", sorted(ALL))
async def test_every_route_allows_or_denies_the_role_as_the_table_says(
    sqlite_api: Api, role: str
) -> None:
    caller: User = await sqlite_api.as_roles(role)
    wrong: list[str] = []
    for (method, path), allowed in sorted(EXPECTED.items()):
        url = path.format(**_PATH_VALUES)
        response = await sqlite_api.client.request(method, url, json={}, headers=caller.headers)
        status = response.status_code
        if allowed == WEB_SESSION:
            if status != 403 or response.json()["code"] != "csrf":
                wrong.append(f"{method} {path}: no web header, got {status} {response.text}")
        elif allowed == PUBLIC or role in allowed:
            if status in (401, 403):
                wrong.append(f"{method} {path}: {role} allowed, got {status} {response.text}")
        elif status != 403 or response.json()["code"] != "forbidden":
            wrong.append(f"{method} {path}: {role} denied, got {status}")
    assert not wrong, "\n".join(wrong)


async def test_without_a_token_only_the_public_routes_answer(sqlite_api: Api) -> None:
    for (method, path), allowed in sorted(EXPECTED.items()):
        response = await sqlite_api.client.request(method, path.format(**_PATH_VALUES), json={})
        if allowed == WEB_SESSION:
            assert response.json()["code"] == "csrf", f"{method} {path}"
        elif allowed == PUBLIC:
            assert response.status_code not in (401, 403), f"{method} {path}"
        else:
            assert response.status_code == 401, f"{method} {path}: {response.status_code}"
