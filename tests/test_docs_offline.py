"""``/docs`` and ``/redoc`` on a cabinet without internet: Swagger UI and ReDoc come from
the service itself (fastapi-offline's files), rendered in Chromium with every request
to anywhere but the service aborted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.kioskkit import SLOW
from tests.procs import ServiceProcess

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
CDN = re.compile(r"cdn\.jsdelivr|unpkg\.com|cdnjs|fonts\.googleapis|https?://(?!127\.0\.0\.1)")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(tmp_path_factory.mktemp("docs")).start()
    yield svc
    svc.stop()


@pytest.fixture
def offline(browser: Browser, service: ServiceProcess) -> Iterator[tuple[Page, list[str]]]:
    """A page whose requests to anything but the service are aborted (and listed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def only_the_service(route: Route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", only_the_service)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, blocked
    context.close()
    assert errors == [], f"the page raised: {errors}"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_no_cdn_in_the_documentation_pages(service: ServiceProcess, path: str) -> None:
    html = service.client().get(path)
    assert html.status_code == 200
    assert not CDN.search(html.text), CDN.findall(html.text)
    for asset in re.findall(r'(?:src|href)="([^"]+)"', html.text):
        assert asset.startswith("/"), asset  # every asset from the service
        assert service.client().get(asset).status_code == 200, asset


def test_swagger_ui_renders_offline(
    offline: tuple[Page, list[str]], service: ServiceProcess, tmp_path: Path
) -> None:
    page, blocked = offline
    page.goto(service.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "Locker controller", timeout=SLOW
    )
    pickups = page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/pickups$"))
    expect(pickups.first).to_be_visible(timeout=SLOW)
    assert page.locator(".opblock").count() > 20  # the operation list, not an error box
    page.locator(".opblock-summary", has=pickups.first).first.click()  # opens: the body
    expect(page.locator(".opblock.is-open")).to_be_visible(timeout=SLOW)
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert blocked == [], blocked


def test_redoc_renders_offline(offline: tuple[Page, list[str]], service: ServiceProcess) -> None:
    page, blocked = offline
    page.goto(service.url + "/redoc")
    expect(page.locator("h1", has_text="Locker controller")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("/api/v1/pickups").first).to_be_attached(timeout=SLOW)
    # NOTE: ReDoc's bundle asks for one decorative image, the Redocly logo of its
    # "API docs by Redocly" footer; failing, the image hides itself (its onError).
    assert set(blocked) <= {REDOCLY_LOGO}, blocked
