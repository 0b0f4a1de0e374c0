"""The interactive API docs at `/docs`: Swagger UI from the installed `swagger-ui-bundle`
package, served by the gateway itself under `/docs/assets`, never from a CDN (a CDN
serving altered JavaScript would run with the user's tokens on this origin).

The page gets its own Content-Security-Policy: scripts and styles from this origin only,
plus the one inline script that starts Swagger UI, admitted by its SHA-256 hash (so no
`'unsafe-inline'`); images from this origin and `data:` (the stylesheet's icons); fetches
to this origin (the OpenAPI document, and requests users try out). Swagger UI's online
validator, which would send the document's URL to swagger.io, is turned off.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(str(swagger_ui_path))

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI for `app.openapi_url` at `/docs` and its files at `/docs/assets`;
    raises ValueError if the app publishes no OpenAPI document."""
    if app.openapi_url is None:
        raise ValueError("the docs need the OpenAPI document: give the app an openapi_url")
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None},
    )
    body = bytes(page.body)
    headers = {"Content-Security-Policy": docs_policy(body.decode())}

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(body, headers=headers)

    app.add_route(DOCS_PATH, docs, include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")


def docs_policy(html: str) -> str:
    """The CSP admitting what the Swagger UI page `html` needs, and nothing else."""
    hashes = " ".join(f"'sha256-{_sha256(script)}'" for script in _INLINE_SCRIPT.findall(html))
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
