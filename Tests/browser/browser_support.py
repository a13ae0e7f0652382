"""Fixtures for the browser tests: a headless Chromium driven by Selenium, and the live server fixtures
of Tests/integration (loaded from there, so both suites start the binary the same way). A test module
imports them by name. This is not a conftest.py on purpose: with Tests/integration and Tests/browser in
one pytest run, a second module named `conftest` would shadow the one `from conftest import ...` means.

Every step that talks to the browser is bounded: Selenium's HTTP client gives up on a driver command
after COMMAND_TIMEOUT, page loads and scripts have their own limits, and each test runs under a SIGALRM
watchdog, so a hung chromedriver or renderer fails the test instead of hanging CI.
"""
import importlib.util
import pathlib
import shutil
import signal
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
INTEGRATION = HERE.parent / "integration"

if str(INTEGRATION) not in sys.path:
    sys.path.insert(0, str(INTEGRATION))  # cw.py: the frame helpers

_spec = importlib.util.spec_from_file_location("canvaswire_integration_conftest", INTEGRATION / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)
server_factory = _integration.server_factory

COMMAND_TIMEOUT = 60      # seconds for any single WebDriver command
PAGE_LOAD_TIMEOUT = 30
SCRIPT_TIMEOUT = 30
TEST_BUDGET = 240         # seconds for a whole browser test, whatever it is waiting for

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    # A headless tab counts as hidden: keep its timers and rendering running at full speed.
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--window-size=1280,900", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
]


def _find(names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(autouse=True)
def watchdog():
    """Fails a test that runs longer than TEST_BUDGET, even when it is blocked inside a driver call."""
    def expired(signum, frame):
        raise TimeoutError(f"browser test exceeded its {TEST_BUDGET} s budget (hung browser or driver?)")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_BUDGET)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def driver():
    """A fresh headless Chromium per test. Missing pieces fail the test with what to install."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        pytest.fail(f"selenium is not installed ({error}); pip install -r tools/test-requirements.txt")
    browser = _find(["chromium", "chromium-browser", "google-chrome"])
    chromedriver = _find(["chromedriver"])
    if browser is None or chromedriver is None:
        pytest.fail("the browser tests need Chromium and its driver: apt-get install chromium chromium-driver "
                    f"(found browser={browser}, chromedriver={chromedriver})")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=chromedriver)
    instance = webdriver.Chrome(options=options, service=service)
    try:
        instance.command_executor.client_config.timeout = COMMAND_TIMEOUT
        instance.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        instance.set_script_timeout(SCRIPT_TIMEOUT)
        yield instance
    finally:
        instance.quit()
