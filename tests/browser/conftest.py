"""Browser tests: Debian's Chromium driven by Playwright (sync API) against pytest-django's live server.

Never run `playwright install`: the tests use the system Chromium at /usr/bin/chromium (or $CHROMIUM_PATH).
"""

import os
import threading
from pathlib import Path

# Playwright's sync API runs an event loop in the test thread; Django would refuse ORM calls there.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import pytest  # noqa: E402

from tests.factories import PASSWORD  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
SHOTS = Path(os.environ.get("L2_SHOTS_DIR", "/tmp/l2-shots"))
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def browser(django_db_setup, live_server):
    """Chromium for the whole session. It depends on the live server so that it closes first: a socket
    Chromium still holds when the server stops would end in a request thread using a no-longer-shared
    SQLite connection."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class _OneRequestAtATime:
    """WSGI wrapper: requests are handled one after the other.

    With SQLite the test database lives in memory and pytest-django hands the *same* connection object to
    every server thread; two requests in flight at once (the upload page sends 3 files in parallel) would
    interleave their transactions on that one connection. PostgreSQL gives each thread its own connection
    and is left fully concurrent.
    """

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return self.app(environ, start_response)


@pytest.fixture
def server(django_db_setup, live_server):
    """The live server, serialised when its database connection is shared (in-memory SQLite).

    `django_db_setup` comes first: pytest-django's session-scoped `live_server` looks for in-memory SQLite
    connections when it starts, and would otherwise start before the test database exists, letting each
    server thread open its own connection to the shared-cache memory database ("database table is locked").
    """
    thread = live_server.thread
    if thread.connections_override:
        app = thread.httpd.get_app()
        if not isinstance(app, _OneRequestAtATime):
            thread.httpd.set_app(_OneRequestAtATime(app))
    return live_server


@pytest.fixture
def page(browser, server):
    """A fresh browser context per test (French locale, large screen), failing on uncaught JS errors."""
    context = browser.new_context(
        base_url=server.url, locale="fr-FR", viewport={"width": 1600, "height": 1000}
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    js_errors: list[str] = []
    tab.on("pageerror", lambda error: js_errors.append(str(error)))
    yield tab
    context.close()
    assert not js_errors, f"uncaught JavaScript errors: {js_errors}"


def _login(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login page (any previous session of this context is dropped first)."""
    page.context.clear_cookies()
    page.goto("/connexion/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()
    assert page.locator("[data-testid=current-user]").count() == 1, (
        f"login failed for {username}: still on {page.url}"
    )


@pytest.fixture(name="login")
def login_fixture():
    """`login(page, username)`: log in as that user (password tests.factories.PASSWORD)."""
    return _login


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


# cornerstone3D needs WebGL2: Chromium headless gets it from SwiftShader (software), never a CPU fallback.
GL_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


@pytest.fixture(scope="module")
def gl_browser(browser):
    """A second Chromium from the session's Playwright, with WebGL2 on SwiftShader for the workstation."""
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=GL_ARGS)
    yield chromium
    chromium.close()


# ------------------------------------------------------------------ the viewer's dev harness (hanging, tools)

HARNESS = "/static/js/workstation/dev/viewer-harness.html"


@pytest.fixture
def org():
    """A practice with its staff and L1 radiologist, and a second reader at another site."""
    from types import SimpleNamespace

    from tests.factories import PracticeFactory, SiteFactory, UserFactory, l1_of, reader_at, staff_of

    practice = PracticeFactory()
    org = SimpleNamespace(practice=practice, staff=staff_of(practice), l1=l1_of(practice))
    org.reader = reader_at(SiteFactory(), user=UserFactory(username="dr.viewer"))
    return org


@pytest.fixture
def viewer_page(gl_browser, server, org, login):
    """The viewer alone (dev harness, real cornerstone on SwiftShader WebGL), logged in as org.reader."""
    context = gl_browser.new_context(
        base_url=server.url, locale="fr-FR", viewport={"width": 1200, "height": 828}
    )
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors, console = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    login(page, org.reader.username)
    page.goto(HARNESS)
    page.wait_for_function("() => window.harnessReady === true")
    page.test_console = console
    yield page
    context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}\nconsole: {console[-20:]}"
