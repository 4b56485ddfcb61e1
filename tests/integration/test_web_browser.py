"""The technician's page in a real headless browser (Debian's chromium + chromium-driver, driven by selenium),
served by a real `evse run` process against the dev CSMS (`evse dev-csms`), both on loopback.

Without the browser these tests are skipped, unless EVSE_REQUIRE_BROWSER is set (CI sets it): then they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.ems_client import free_port
from tests.web_client import WEB_PASSWORD, WebClient, web_yaml, write_yaml

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
except ImportError:  # pragma: no cover - depends on the machine
    webdriver = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_missing = "selenium" if webdriver is None else "chromium-driver" if CHROMEDRIVER is None else None
if _missing is not None:
    if os.environ.get("EVSE_REQUIRE_BROWSER"):
        raise RuntimeError(f"EVSE_REQUIRE_BROWSER is set but {_missing} is not installed")
    pytest.skip(f"{_missing} not installed (apt-get install chromium chromium-driver)", allow_module_level=True)

T = TypeVar("T")


def wait_until(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(WebDriverException, OSError, ValueError):
            last = probe()
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def csms_port() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evse", "dev-csms", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


class Station:
    """A real `evse run` with the page enabled; its stderr goes to a file the test can read."""

    def __init__(self, tmp_path: Path, csms_port: int) -> None:
        self.data = web_yaml(tmp_path, csms_port)
        self.config = write_yaml(tmp_path / "evse.yaml", self.data)
        self.port: int = self.data["web"]["port"]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "daemon.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "evse", "run", "--config", str(self.config)], cwd=ROOT, stderr=log
            )
        self.wait_for_page()

    def wait_for_page(self) -> None:
        wait_until("the page to answer", lambda: WebClient(self.port).request("GET", "/login").status == 200)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def station(tmp_path: Path, csms_port: int) -> Iterator[Station]:
    sut = Station(tmp_path, csms_port)
    try:
        yield sut
    finally:
        sut.stop()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        options.add_argument(argument)
    if CHROMIUM:
        options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def log_in(browser: WebDriver, station: Station, password: str = WEB_PASSWORD) -> None:
    browser.get(f"{station.url}/login")
    field = browser.find_element(By.ID, "password")
    field.clear()
    field.send_keys(password)
    browser.find_element(By.ID, "login-button").click()


def text(browser: WebDriver, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def evse_cell(browser: WebDriver, name: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, f"#evse-1 .evse-{name}").text)


def test_wrong_password_refused_and_nothing_without_login(browser: WebDriver, station: Station) -> None:
    browser.get(station.url + "/")
    assert browser.current_url == station.url + "/login"  # the page itself redirects to the login
    log_in(browser, station, "not-the-password")
    wait_until("the refusal", lambda: text(browser, "login-error") == "wrong password")
    assert browser.current_url == station.url + "/login"
    browser.get(station.url + "/api/state")
    assert '"log in first"' in browser.page_source and "CS001" not in browser.page_source


def test_log_in_and_watch_a_charging_session(browser: WebDriver, station: Station) -> None:
    log_in(browser, station)
    wait_until("the station's page", lambda: text(browser, "station-id") == "CS001")
    wait_until("the CSMS connection", lambda: text(browser, "csms-connected") == "connected")
    assert text(browser, "csms-url") == station.data["csms"]["url"] and text(browser, "csms-version") == "2.0.1"
    assert text(browser, "firmware-version") == "1.0.0"
    wait_until("EVSE 1", lambda: evse_cell(browser, "status") == "Available")
    # The sim controls: plug, swipe the demo card, the EV asks for energy.
    browser.find_element(By.ID, "sim-plug").click()
    wait_until("the EV plugged in", lambda: evse_cell(browser, "pilot") == "B")
    browser.find_element(By.ID, "sim-swipe").click()
    wait_until("a transaction", lambda: evse_cell(browser, "tx") not in ("-", ""))
    browser.find_element(By.ID, "sim-ev-state").click()  # state C is preselected
    power = wait_until(
        "power to flow", lambda: evse_cell(browser, "power") if evse_cell(browser, "power") != "0 W" else None
    )
    assert power.endswith(" W") and float(power.removesuffix(" W")) > 1000
    first = float(evse_cell(browser, "energy").removesuffix(" Wh"))
    wait_until("the energy to grow", lambda: float(evse_cell(browser, "energy").removesuffix(" Wh")) > first)
    assert evse_cell(browser, "charging") == "Charging"
    # The last log lines and the device-model search.
    wait_until("log lines", lambda: "web login user=technician client=127.0.0.1" in text(browser, "log"))
    search = browser.find_element(By.ID, "dm-search")
    search.send_keys("HeartbeatInterval")
    wait_until(
        "the device-model search",
        lambda: [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#device-model tbody tr")],
    )
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#device-model tbody tr")]
    assert rows and all("HeartbeatInterval" in row for row in rows)
    screenshot = os.environ.get("EVSE_WEB_SCREENSHOT")  # docs/web-page.png is made this way
    if screenshot:
        search.clear()
        search.send_keys("OCPPCommCtrlr")
        time.sleep(1.5)
        browser.save_screenshot(screenshot)


def test_broken_yaml_error_next_to_its_line_then_good_yaml_restarts_the_daemon(
    browser: WebDriver, station: Station, tmp_path: Path
) -> None:
    log_in(browser, station)
    wait_until(
        "the configuration", lambda: "station:" in browser.find_element(By.ID, "config-text").get_attribute("value")
    )
    good = station.config.read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(good.replace("security_profile: 1", "security_profile: 7"))
    browser.find_element(By.ID, "config-upload").send_keys(str(broken))
    error = wait_until("the error", lambda: browser.find_element(By.CSS_SELECTOR, ".line-error"))
    line = int(error.get_attribute("data-line"))
    assert error.text.startswith(f"{station.config}: csms.security_profile:")
    # Right under the line it names, which holds the broken value.
    above = browser.find_element(By.XPATH, "//div[contains(@class,'line-error')]/preceding-sibling::div[1]")
    assert above.get_attribute("data-line") == str(line) and "security_profile: 7" in above.text
    browser.find_element(By.ID, "config-apply").click()  # refused: the file stays as it was
    wait_until("the refusal", lambda: "error" in text(browser, "config-result"))
    assert station.config.read_text() == good
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(good.replace("firmware_version: 1.0.0", "firmware_version: 2.0.0-web"))
    browser.find_element(By.ID, "config-upload").send_keys(str(fixed))
    wait_until("the check to pass", lambda: text(browser, "config-result").startswith("ok"))
    browser.find_element(By.ID, "config-apply").click()
    wait_until("the restart notice", lambda: "restarting" in text(browser, "config-result"))
    # The daemon re-executes itself (same process id) and the page, its sessions gone, asks for the login.
    wait_until("the login page", lambda: browser.current_url == station.url + "/login")
    station.wait_for_page()
    assert station.proc.poll() is None
    log_in(browser, station)
    wait_until("the new firmware version", lambda: text(browser, "firmware-version") == "2.0.0-web")
    assert station.config.with_name("evse.yaml.bak").read_text() == good
    daemon_log = station.log.read_text()
    assert "replaced by web user=technician client=127.0.0.1" in daemon_log and "re-executing for reset" in daemon_log
    assert WEB_PASSWORD not in daemon_log
