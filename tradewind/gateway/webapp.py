"""The web dashboard at `/`: the files `cd web && npm run build` writes into
`webapp_dist/` (shipped in the wheel as package data; `./dev up` builds it), served by
the gateway on the API's own origin, so the app needs no CORS and the same tokens work.

- `/` is `index.html`, `Cache-Control: no-cache` (a new build is seen at the next load);
- `/assets/NAME` are the build's content-hashed files, cached for a year (`immutable`):
  a new build has new names;
- `/NAME` is another file at the top of the build when the app was made (an icon);
  nothing else is served, and no path leaves the build's folder;
- without a build, `/` answers 503 with a page saying how to make one.

Every page carries `WEBAPP_POLICY`, a Content-Security-Policy that lets the page load
only its own files and talk only to its own origin (see the constant).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

WEBAPP_DIST = Path(__file__).parent / "webapp_dist"

#: The dashboard's Content-Security-Policy. Scripts, styles, fonts, images and the
#: manifest only from this origin (images also as `data:` URLs, which the charts
#: draw); no inline script or style, no eval, no plugins; requests only to this
#: origin; no `<base>` rewriting; forms post only here; never framed. `webapp_policy`
#: adds this origin's WebSocket URL to `connect-src`: CSP Level 3 lets `'self'` match
#: `ws(s)://` of the same host, and current Chromium does, but older browsers (Safari
#: before 15.4) did not, and the stream is the dashboard's live data.
WEBAPP_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)

INDEX_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"

#: A Host header that can go into the policy as it is (no `;`, space or quote).
_PLAIN_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

_NOT_BUILT = """\
The Tradewind dashboard is not built.

Build it with `./dev up` (which builds it when its sources changed), or by hand:

    cd web && npm ci && npm run build

It is written to tradewind/gateway/webapp_dist/. The API is unaffected: /api/v1, /docs.
"""

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".map": "application/json",
}


def webapp_policy(request: Request) -> str:
    """`WEBAPP_POLICY` with this request's own WebSocket origin added to `connect-src`
    (left out when the Host header is not a plain host[:port])."""
    host = request.headers.get("host", "")
    if not _PLAIN_HOST.match(host):
        return WEBAPP_POLICY
    ws = "wss" if request.url.scheme == "https" else "ws"
    return WEBAPP_POLICY.replace("connect-src 'self'", f"connect-src 'self' {ws}://{host}")


def install_webapp(app: FastAPI, dist: Path = WEBAPP_DIST) -> None:
    """Serve the build in `dist` at `/` (see the module docstring); call it after the
    API's routes, which therefore take precedence."""

    async def index(request: Request) -> Response:
        page = dist / "index.html"
        if not page.is_file():
            return PlainTextResponse(
                _NOT_BUILT,
                status_code=503,
                headers={"Content-Security-Policy": WEBAPP_POLICY, "Cache-Control": "no-store"},
            )
        return _file(request, page, INDEX_CACHE)

    async def asset(request: Request) -> Response:
        found = _within(dist / "assets", request.path_params["name"])
        return _file(request, found, ASSET_CACHE)

    app.add_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/assets/{name:path}", asset, methods=["GET", "HEAD"], include_in_schema=False)
    # The build's other top-level files (icons) by name, as the build had them when the
    # app was made: a `/{name}` route would take every path added after this one.
    for path in sorted(dist.glob("*")) if dist.is_dir() else ():
        if path.is_file() and path.name != "index.html" and not path.name.startswith("."):
            app.add_route(
                f"/{path.name}",
                _top_level_file(path),
                methods=["GET", "HEAD"],
                include_in_schema=False,
            )


def _top_level_file(path: Path) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        return _file(request, _within(path.parent, path.name), INDEX_CACHE)  # 404 once gone

    return serve


def _within(folder: Path, name: str) -> Path:
    """The regular file `name` inside `folder` (no hidden file, nothing outside it);
    404 otherwise."""
    parts = name.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        raise HTTPException(404)
    path = folder.joinpath(*parts)
    try:
        if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
            raise HTTPException(404)
    except OSError:
        raise HTTPException(404) from None
    return path


def _file(request: Request, path: Path, cache_control: str) -> Response:
    media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return FileResponse(
        path,
        media_type=media_type or "application/octet-stream",
        headers={"Content-Security-Policy": webapp_policy(request), "Cache-Control": cache_control},
    )
