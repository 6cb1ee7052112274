"""`GET /docs`: Swagger UI over /openapi.json, every asset served by the gateway itself.

The assets come from the swagger-ui-py package (only its static files are used), read once at
start. The page runs no inline script and may load nothing from elsewhere: a strict
Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web
from aiohttp.typedefs import Handler

DOCS_PATH = "/docs"
# Swagger UI builds its styles in the DOM and shows its icons as data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# The package's assets the page loads, by the name they are served under.
_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
_INITIALIZER = b"""window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""


def _page(title: str) -> bytes:
    escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escaped}</title>
<link rel="stylesheet" href="{DOCS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{DOCS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/initializer.js"></script>
</body>
</html>
""".encode()


def add_docs_routes(router: web.UrlDispatcher, title: str) -> None:
    """The page, its initializer and the package's assets, each held in memory."""
    static = resources.files("swagger_ui").joinpath("static")
    files = {name: (static.joinpath(name).read_bytes(), kind) for name, kind in _ASSETS.items()}
    files["initializer.js"] = (_INITIALIZER, "text/javascript")
    router.add_get(DOCS_PATH, _serve(_page(title), "text/html"), allow_head=False)
    for name, (body, kind) in files.items():
        router.add_get(f"{DOCS_PATH}/{name}", _serve(body, kind), allow_head=False)


def _serve(body: bytes, content_type: str) -> Handler:
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=3600",
    }

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type, headers=headers)

    return serve
