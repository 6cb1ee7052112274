"""/docs in a real headless browser (Debian's chromium, which `make test` installs): the page
renders from the gateway's own assets, under its Content-Security-Policy, and lists every
operation of /openapi.json."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import orjson

from gateway.docs import CONTENT_SECURITY_POLICY
from gateway_support import GatewayFactory

# No service behind it: /docs and /openapi.json need none.
NO_SERVICE = "127.0.0.1:1"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Time runs as fast as the page allows, up to this many (virtual) milliseconds.
    "--virtual-time-budget=20000",
)
_OPERATION = re.compile(
    r'class="opblock opblock-(?P<method>[a-z]+)[^"]*".*?'
    r'class="opblock-summary-path" data-path="(?P<path>[^"]+)"',
    re.DOTALL,
)


def rendered_dom(url: str, profile: Path) -> str:
    chromium = shutil.which("chromium")
    assert chromium is not None, "chromium is missing: `make test` installs it"
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return done.stdout.decode()


def test_the_docs_page_lists_every_operation_of_the_openapi_document(
    gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    gateway = gateway_factory(NO_SERVICE, expect_serving=False)
    document = orjson.loads(gateway.get("/openapi.json").body)
    wanted = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    page = gateway.get("/docs")
    assert page.status == 200
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY

    dom = rendered_dom(f"{gateway.url}/docs", tmp_path / "profile")

    shown = {(match["method"], html.unescape(match["path"])) for match in _OPERATION.finditer(dom)}
    assert shown == wanted
    assert document["info"]["title"] in dom


def test_every_asset_is_the_gateways_own(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(NO_SERVICE, expect_serving=False)
    page = gateway.get("/docs").body.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    for source in sources:
        assert source.startswith("/docs/"), source
        asset = gateway.get(source)
        assert asset.status == 200, source
        assert asset.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY  # no inline or remote script
