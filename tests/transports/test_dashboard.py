"""The live dashboard at `/`, in a real browser: headless Chromium driven by selenium.

Debian's `chromium` and `chromium-driver` (scripts/test installs them on CI); without
them, or without selenium, these tests are skipped with the reason. The browser only
ever talks to the emulator on loopback.
"""
from __future__ import annotations

import shutil
import threading
import time

import pytest
import requests

from abaco_checks import Gate
from abaco_emulator import serve
from abaco_emulator.dashboard import CONTENT_SECURITY_POLICY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - the test extra brings it
    webdriver = None

needs_browser = pytest.mark.skipif(
    webdriver is None or not CHROMIUM or not CHROMEDRIVER,
    reason="needs selenium (the [test] extra) and Debian's chromium and chromium-driver "
           "(apt-get install chromium chromium-driver; scripts/test does it)")


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-proxy-server", "--window-size=1400,1800", f"--user-data-dir={tmp_path / 'profile'}",
                     "--disable-extensions", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-pings", "--disable-default-apps",
                     "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                     # loopback only: every other host name fails to resolve, whatever Chromium's
                     # own services would call
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads"),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, condition, timeout=20, what="the page"):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, f"waiting for {what}")


def _text_of(driver, selector):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text if found else ""


def _screenshot(driver, tmp_path, name):
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"dashboard screenshot: {path}")
    return path


def _talker(gate: Gate):
    def handler(ctx):
        print("first line of", ctx["raw_message"], flush=True)
        gate(ctx)
        print("last line", flush=True)
    return handler


@needs_browser
def test_the_dashboard_shows_an_actor_sends_it_a_message_and_follows_its_logs(browser, tmp_path):
    gate = Gate(timeout=30)
    with serve(runner="local") as server:
        server.emulator.register_image("talker:1", _talker(gate))
        browser.get(server.url + "/")
        _wait(browser, lambda d: d.find_element(By.ID, "connection").text == "live", what="the page to connect")

        # registered after the page loaded: it appears without a reload
        actor = requests.post(server.api_url, json={"image": "talker:1", "name": "talker"}).json()["result"]
        row = _wait(browser, expected_conditions.element_to_be_clickable(
            (By.CSS_SELECTOR, f'#actors tbody tr[data-id="{actor["id"]}"]')), what="the actor's row")
        assert "talker:1" in row.text and "READY" in row.text
        row.click()

        _wait(browser, expected_conditions.visibility_of_element_located((By.ID, "message-text")))
        browser.find_element(By.ID, "message-text").send_keys("from the browser")
        browser.find_element(By.ID, "send-button").click()
        _wait(browser, lambda d: "sent: execution" in d.find_element(By.ID, "send-result").text, what="the send")
        execution_id = browser.find_element(By.ID, "send-result").text.rsplit(" ", 1)[1]

        # the execution runs: its first line shows while it is RUNNING
        assert gate.started.wait(20)
        _wait(browser, lambda d: "first line of from the browser" in d.find_element(By.ID, "logs").text,
              what="the first log line while running")
        assert browser.find_element(By.ID, "execution-status").text == "RUNNING"
        assert "last line" not in browser.find_element(By.ID, "logs").text

        gate.release.set()
        _wait(browser, lambda d: _text_of(d, "#execution-status") == "COMPLETE", what="COMPLETE")
        _wait(browser, lambda d: "last line" in d.find_element(By.ID, "logs").text, what="the last log line")
        _wait(browser, lambda d: "(ended)" in d.find_element(By.ID, "logs-state").text, what="the end of the logs")
        # what followed was appended once each: the logs read as the execution wrote them
        assert browser.find_element(By.ID, "logs").text == "first line of from the browser\nreleased\nlast line"
        execution_row = browser.find_element(By.CSS_SELECTOR, f'#executions tbody tr[data-id="{execution_id}"]')
        _wait(browser, lambda d: "COMPLETE" in execution_row.text, what="the execution's row")
        # what the dashboard shows is what the API says
        assert server.emulator.wait_for_execution(actor["id"], execution_id, 10)["status"] == "COMPLETE"
        assert _screenshot(browser, tmp_path, "dashboard-complete").stat().st_size > 0


@needs_browser
def test_actor_output_and_names_are_shown_as_text_never_run(browser, tmp_path):
    hostile = ('<script>window.__pwned = "script"</script>\n'
               '<img src=x onerror="window.__pwned = \'img\'">\n')

    def handler(ctx):
        print(hostile, end="")
        print(ctx["raw_message"])

    with serve(runner="local") as server:
        server.emulator.register_image("hostile:1", handler)
        actor = requests.post(server.api_url, json={
            "image": "hostile:1", "name": "x<b>bold</b>", "description": "<img src=x onerror=alert(1)>",
            "defaultEnvironment": {"HTML": "<script>alert(2)</script>"}}).json()["result"]
        execution_id = requests.post(f"{server.api_url}/{actor['id']}/messages",
                                     data={"message": "<img src=y onerror=alert(3)>"}).json()["result"]["executionId"]
        server.emulator.wait_for_execution(actor["id"], execution_id, 20)

        browser.get(f"{server.url}/#actor={actor['id']}&execution={execution_id}")
        _wait(browser, lambda d: "(ended)" in d.find_element(By.ID, "logs-state").text, what="the logs")
        logs = browser.find_element(By.ID, "logs").text
        assert '<script>window.__pwned = "script"</script>' in logs
        assert '<img src=x onerror="window.__pwned = \'img\'">' in logs
        assert "<img src=y onerror=alert(3)>" in logs
        _wait(browser, lambda d: "x<b>bold</b>" in d.find_element(By.ID, "actors").text, what="the actor's name")
        assert "<img src=x onerror=alert(1)>" in browser.find_element(By.ID, "actor-fields").text
        assert "<script>alert(2)</script>" in browser.find_element(By.ID, "actor-environment").text

        assert browser.execute_script("return window.__pwned") is None
        assert browser.find_elements(By.CSS_SELECTOR, "img, b, #logs *, #actors script") == []
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text
        _screenshot(browser, tmp_path, "dashboard-hostile")


@needs_browser
def test_a_server_with_tokens_has_the_page_ask_for_one(browser):
    with serve(runner="local", tokens={"alice-token": "alice"}) as server:
        server.emulator.register_image("quiet:1", lambda ctx: None)
        actor = requests.post(server.api_url, json={"image": "quiet:1"},
                              headers={"Authorization": "Bearer alice-token"}).json()["result"]
        browser.get(server.url + "/")
        _wait(browser, expected_conditions.visibility_of_element_located((By.ID, "token-input")),
              what="the token form")
        assert not browser.find_element(By.ID, "main").is_displayed()

        browser.find_element(By.ID, "token-input").send_keys("wrong-token")
        browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        _wait(browser, lambda d: "refused" in d.find_element(By.ID, "token-error").text, what="the refusal")

        browser.find_element(By.ID, "token-input").send_keys("alice-token")
        browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        _wait(browser, expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, f'#actors tbody tr[data-id="{actor["id"]}"]')), what="alice's actor")


@needs_browser
def test_the_form_sends_json_and_files_as_binary(browser, tmp_path):
    seen: list[tuple[str, str, bytes | None]] = []
    done = threading.Event()

    def handler(ctx):
        seen.append((ctx["content_type"], ctx["raw_message"], ctx.binary))
        if len(seen) == 2:
            done.set()

    upload = tmp_path / "data.bin"
    upload.write_bytes(bytes(range(256)))
    with serve(runner="local") as server:
        server.emulator.register_image("kinds:1", handler)
        actor = requests.post(server.api_url, json={"image": "kinds:1"}).json()["result"]
        browser.get(f"{server.url}/#actor={actor['id']}")
        _wait(browser, expected_conditions.visibility_of_element_located((By.ID, "message-text")))

        browser.find_element(By.CSS_SELECTOR, 'input[name="kind"][value="json"]').click()
        browser.find_element(By.ID, "message-text").send_keys("not json")
        browser.find_element(By.ID, "send-button").click()
        _wait(browser, lambda d: "not JSON" in d.find_element(By.ID, "send-result").text, what="the JSON check")
        browser.find_element(By.ID, "message-text").clear()
        browser.find_element(By.ID, "message-text").send_keys('{"n": 1}')
        browser.find_element(By.ID, "send-button").click()
        _wait(browser, lambda d: "sent: execution" in d.find_element(By.ID, "send-result").text, what="the send")

        browser.find_element(By.CSS_SELECTOR, 'input[name="kind"][value="file"]').click()
        browser.find_element(By.ID, "message-file").send_keys(str(upload))
        browser.find_element(By.ID, "send-button").click()
        assert done.wait(20)
    assert seen[0] == ("application/json", "{'n': 1}", None)  # Abaco's MSG of a JSON message: str(dict)
    assert seen[1][0] == "application/octet-stream" and seen[1][2] == bytes(range(256))


def test_the_page_and_its_assets_are_served_with_a_content_security_policy():
    with serve(runner="local") as server:
        page = requests.get(server.url + "/")
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert 'data-api="/actors/v2"' in page.text
        # every asset the page names is served from the package: nothing from elsewhere
        for asset in ("/dashboard/dashboard.js", "/dashboard/dashboard.css"):
            assert asset in page.text
            answer = requests.get(server.url + asset)
            assert answer.status_code == 200 and answer.content
        assert "http://" not in page.text and "https://" not in page.text
        assert requests.get(server.url + "/dashboard/missing.js").status_code == 405


def test_the_overview_pages_stay_fast_with_1000_actors_and_100000_executions():
    with serve(runner="local") as server:
        store = server.emulator.service.store
        template = requests.post(server.api_url, json={"image": "none:1"}).json()["result"]
        busy = template["id"]
        record = store.actors.get(busy)
        permission = store.permissions.by_actor(busy)[0]
        with store.transaction():
            for n in range(999):
                actor_id = f"A{n:012d}"
                store.actors.insert({**record, "id": actor_id, "db_id": f"T_{actor_id}", "name": f"actor {n}"})
                store.permissions.insert({**permission, "id": f"P{n}", "actor_id": actor_id})
            execution = {"actor_id": busy, "api_server": "", "executor": "testuser", "worker_id": None,
                         "status": "COMPLETE", "message_received_time": "t", "start_time": "t",
                         "finish_time": "t", "runtime": 0, "cpu": 0, "io": 0, "exit_code": 0, "final_state": None}
            for n in range(100_000):
                store.executions.insert({**execution, "id": f"E{n:012d}"})
        overview = server.url + "/emulator/v1/actors"

        started = time.perf_counter()
        actors = requests.get(overview, params={"limit": 50}).json()["result"]
        executions = requests.get(f"{overview}/{busy}/executions", params={"skip": 10, "limit": 50}).json()["result"]
        filtered = requests.get(f"{overview}/{busy}/executions", params={"status": "complete"}).json()["result"]
        elapsed = time.perf_counter() - started

        assert actors["total"] == 1000 and len(actors["actors"]) == 50
        assert executions["total"] == 100_000
        assert [e["id"] for e in executions["executions"]][:2] == ["E000000099989", "E000000099988"]
        assert filtered["total"] == 100_000 and len(filtered["executions"]) == 50
        assert elapsed < 5, f"three overview pages took {elapsed:.2f} s"


@needs_browser
def test_a_deleted_actor_leaves_the_page_without_breaking_it(browser):
    with serve(runner="local") as server:
        server.emulator.register_image("quiet:1", lambda ctx: None)
        gone, kept = (requests.post(server.api_url, json={"image": "quiet:1", "name": name}).json()["result"]
                      for name in ("gone", "kept"))
        browser.get(f"{server.url}/#actor={gone['id']}")
        _wait(browser, lambda d: gone["id"] in _text_of(d, "#actor-title"), what="the chosen actor")

        requests.delete(f"{server.api_url}/{gone['id']}")
        _wait(browser, lambda d: not d.find_element(By.ID, "actor-panel").is_displayed(), what="the panel to close")
        _wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#actors tr[data-id="{gone["id"]}"]'),
              what="the row to go")
        assert browser.find_element(By.ID, "connection").text == "live"
        assert browser.find_elements(By.CSS_SELECTOR, f'#actors tr[data-id="{kept["id"]}"]')


@needs_browser
def test_results_download_as_files_without_being_popped(browser, tmp_path):
    def two_results(ctx):
        ctx.send_result(b"first \x00\xff bytes")
        ctx.send_result(b"second")

    with serve(runner="local") as server:
        server.emulator.register_image("results:1", two_results)
        actor = requests.post(server.api_url, json={"image": "results:1"}).json()["result"]
        execution_id = requests.post(f"{server.api_url}/{actor['id']}/messages",
                                     data={"message": "m"}).json()["result"]["executionId"]
        server.emulator.wait_for_execution(actor["id"], execution_id, 20)
        browser.get(f"{server.url}/#actor={actor['id']}&execution={execution_id}")
        buttons = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#results button") or None,
                        what="the results")
        assert [b.text for b in buttons] == ["download result 1", "download result 2"]

        buttons[0].click()
        downloaded = tmp_path / "downloads" / f"{execution_id}-result-1.bin"
        _wait(browser, lambda d: downloaded.exists() and downloaded.read_bytes() == b"first \x00\xff bytes",
              what="the downloaded file")
        # a look is not a read: the program waiting for the results still gets both
        popped = requests.get(f"{server.api_url}/{actor['id']}/executions/{execution_id}/results")
        assert popped.content == b"first \x00\xff bytes"
