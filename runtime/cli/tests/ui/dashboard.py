"""The dashboard in a real browser (Debian's Chromium, driven by Selenium
through Debian's chromedriver), against a live `serve --ui`.

Run by runtime/cli/tests/e2e/ui.rs, which deploys the services this script
expects and passes, in the environment:

  UI_URL            http://127.0.0.1:<port> of the dashboard
  ADMIN_TOKEN       the host's admin token
  EMPTY_UI_URL      the dashboard of a host with an empty store
  EXPECT            JSON: the services by env, the failed ones and why, calls made,
                    the service to call and its fixture, the models and versions
                    with what each must say, what to promote, roll back and delete
  SCREENSHOTS       the folder to write screenshots to
  CHROMIUM, CHROMEDRIVER  the browser and its driver

Exits non-zero, naming the step, when something is not as it should be.
"""

import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

UI = os.environ["UI_URL"].rstrip("/")
TOKEN = os.environ["ADMIN_TOKEN"]
EXPECT = json.loads(os.environ["EXPECT"])
SHOTS = os.environ["SCREENSHOTS"]
os.makedirs(SHOTS, exist_ok=True)

step_name = "start"


def step(name):
    global step_name
    if "d" in globals():
        drain_console()  # what the browser logged belongs to the step before
    step_name = name
    print(f"dashboard: {name}", flush=True)


def fail(message):
    raise AssertionError(f"{step_name}: {message}")


def check(condition, message):
    if not condition:
        fail(message)


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ["CHROMIUM"]
    for arg in [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--window-size=1280,900",
    ]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=os.environ["CHROMEDRIVER"]), options=opts)


d = browser()
console = []  # every browser log entry, with the step it came in


def drain_console():
    for entry in d.get_log("browser"):
        console.append((step_name, entry))


def wait(what, condition, timeout=15):
    try:
        # The services page re-renders its rows every few seconds.
        return WebDriverWait(
            d, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
        ).until(lambda _: condition())
    except TimeoutException:
        drain_console()
        fail(f"waited {timeout} s for {what}; the page says: {d.find_element(By.ID, 'main').text[:1500]}")


def shot(name):
    """The whole page, not just the window."""
    path = os.path.join(SHOTS, name + ".png")
    size = d.get_window_size()
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(size["width"], max(size["height"], height + 140))
    d.save_screenshot(path)
    d.set_window_size(size["width"], size["height"])
    print(f"dashboard:   screenshot {path}", flush=True)


def rows():
    """The services table's rows (read at once: the page re-renders them)."""
    return d.execute_script(
        "return [...document.querySelectorAll('#services tbody tr')].map(r => r.dataset.service)"
    )


def row_text(service):
    return d.execute_script(
        "const r = document.querySelector(`#services tbody tr[data-service='${arguments[0]}']`);"
        "return r ? r.innerText + (r.querySelector('svg.spark rect.bar') ? ' [bars]' : '') : null",
        service,
    )


def no_horizontal_scroll(page):
    width = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    check(width <= 0, f"the {page} page scrolls sideways by {width} px at phone width")


def api(path, method="GET", token=None, body=None):
    req = urllib.request.Request(UI + path, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def version_card(model_id):
    found = d.find_elements(By.CSS_SELECTOR, f'article.version[data-model-id="{model_id}"]')
    return found[0] if found else None


def env_column(model, env):
    return d.find_element(By.CSS_SELECTOR, f'section.model[data-model="{model}"] .env[data-env="{env}"]')


try:
    all_services = sorted(s for ids in EXPECT["services"].values() for s in ids)

    step("the services page lists every service, with its state and model")
    d.get(UI + "/ui/")
    wait("the services table", lambda: len(rows()) == len(all_services))
    check(sorted(rows()) == all_services, f"rows {sorted(rows())}, expected {all_services}")
    for sid in all_services:
        text = row_text(sid)
        if sid in EXPECT["failed"]:
            check(text and "failed" in text and EXPECT["failed_because"] in text, f"{sid} is not shown failed, and why: {text}")
        else:
            check(text and "ready" in text, f"{sid} is not shown ready: {text}")
    sparks = d.execute_script("return document.querySelectorAll('#services tbody tr svg.spark').length")
    check(sparks == len(all_services), f"{sparks} sparklines for {len(all_services)} services")
    for sid, calls in EXPECT["calls"].items():
        text = row_text(sid)
        check(f"({calls})" in text, f"{sid} does not show its {calls} calls: {text}")
        check("[bars]" in text, f"{sid}'s sparkline has no bar")
    shot("services")

    step("the keyboard: the first Tab reaches the skip link")
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    check(d.switch_to.active_element.get_attribute("id") == "skip", "the first Tab does not reach the skip link")

    step("filtering by environment")
    for env, ids in EXPECT["services"].items():
        d.find_element(By.ID, "filter-env").send_keys(env)
        wait(f"only the {env} services", lambda: sorted(rows()) == sorted(ids))
    d.find_element(By.ID, "filter-env").send_keys("all")
    wait("every service again", lambda: len(rows()) == len(all_services))

    step("filtering by tag (description or metadata)")
    tags = d.find_element(By.ID, "filter-tags")
    tags.send_keys("no-such-tag-anywhere", Keys.ENTER)
    wait("the empty state for a filter", lambda: d.find_elements(By.ID, "empty"))
    tags = d.find_element(By.ID, "filter-tags")
    tags.clear()
    tags.send_keys(Keys.ENTER)
    wait("every service again", lambda: len(rows()) == len(all_services))

    step("a service: its schema, a form pre-filled from the fixture, its answer")
    target = EXPECT["call"]
    d.get(UI + "/ui/#/services/" + target)
    wait("the request form", lambda: d.find_elements(By.ID, "request"))
    page = d.find_element(By.ID, "main").text
    for column in ["ACS", "RDEP", "DEN", "AC"]:
        check(column in page, f"the schema does not name {column}")
    with open(EXPECT["fixture_request"]) as f:
        fixture = json.load(f)
    prefilled = json.loads(d.find_element(By.ID, "request").get_attribute("value"))
    check(prefilled == fixture, f"the form holds {prefilled}, not the fixture {fixture}")
    d.find_element(By.ID, "send").click()
    wait("the answer", lambda: d.find_element(By.ID, "response").text.strip())
    with open(EXPECT["fixture_expected"]) as f:
        expected = json.load(f)
    got = json.loads(d.find_element(By.ID, "response").text)
    check(got["status"] == "ok", f"the call failed: {got}")
    check(got["prediction"] == expected["prediction"], f"answered {got['prediction']}, the fixture says {expected['prediction']}")
    check("HTTP 200" in d.find_element(By.ID, "response-status").text, "the status line does not say HTTP 200")

    step("the live charts count the call within a refresh")
    before = EXPECT["calls"].get(target, 0)
    wait(
        "the form's call in the live summary",
        lambda: d.find_element(By.ID, "live-summary").text.startswith(f"{before + 1} calls"),
        10,
    )
    check(d.find_elements(By.CSS_SELECTOR, "#latency-chart svg path.p50"), "no p50 line")
    check(d.find_elements(By.CSS_SELECTOR, "#throughput-chart svg rect.bar"), "no throughput bar")
    shot("service")

    step("the models page: versions per environment, provenance, who runs them")
    d.get(UI + "/ui/#/models")
    wait("the model cards", lambda: len(d.find_elements(By.CSS_SELECTOR, "section.model")) == len(EXPECT["models"]))
    for model_id, want in EXPECT["models_versions"].items():
        card = version_card(model_id)
        check(card is not None, f"{model_id} is not shown")
        text = card.text
        for words in want:
            check(words in text, f"{model_id} does not say `{words}`: {text}")
    shot("models")

    step("a slow answer does not draw over the page the reader moved to")
    # The services page's first list request takes 1.5 s; the reader moves
    # on to the models page after 0.1 s, which draws at once.
    d.execute_script(
        "const real = window.fetch; let first = true;"
        "window.fetch = (url, opts) => {"
        "  if (first && String(url).startsWith('/services')) {"
        "    first = false;"
        "    return new Promise((done) => setTimeout(() => done(real(url, opts)), 1500));"
        "  }"
        "  return real(url, opts);"
        "};"
        "location.hash = '#/services';"
        "setTimeout(() => { location.hash = '#/models'; }, 100);"
    )
    time.sleep(2.5)
    check(d.find_elements(By.CSS_SELECTOR, "section.model"), "the models page is not shown")
    check(not d.find_elements(By.ID, "services"), "the late services page drew over the models page")
    d.get(UI + "/ui/#/models")
    wait("the model cards", lambda: len(d.find_elements(By.CSS_SELECTOR, "section.model")) == len(EXPECT["models"]))

    promote = EXPECT["promote"]
    model, env, version = promote.split("/")
    to = EXPECT["promote_to"]
    promoted = f"{model}/{to}/{version}"

    step("without a token the actions are disabled, and the API refuses them")
    button = version_card(promote).find_element(By.TAG_NAME, "button")
    check(not button.is_enabled(), "the promote button works without a token")
    status = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch('/models/{model}/{env}/{version}/promote', {{method: 'POST', body: '{{}}'}}).then(r => done(r.status));"
    )
    check(status == 401, f"a promote without a token answered {status}, not 401")
    status, body = api(f"/models/{model}/{env}/{version}/promote", "POST", None, b"{}")
    check(status == 401, f"a promote without a token answered {status}: {body}")

    step("a cross-site promote is refused even with the token")
    req = urllib.request.Request(UI + f"/models/{model}/{env}/{version}/promote", method="POST", data=b"{}")
    req.add_header("Authorization", "Bearer " + TOKEN)
    req.add_header("Origin", "http://evil.example")
    try:
        urllib.request.urlopen(req)
        fail("a promote from another origin was accepted")
    except urllib.error.HTTPError as e:
        check(e.code == 403, f"a promote from another origin answered {e.code}")

    step("a wrong token is refused, with the reason shown")
    d.find_element(By.ID, "token").send_keys("not-the-token", Keys.ENTER)
    wait("the buttons to be enabled", lambda: version_card(promote) and version_card(promote).find_element(By.TAG_NAME, "button").is_enabled())
    version_card(promote).find_element(By.TAG_NAME, "button").click()
    wait("the confirmation", lambda: d.find_element(By.ID, "confirm").is_displayed())
    d.find_element(By.ID, "confirm-ok").click()
    wait("the refusal", lambda: "refused" in d.find_element(By.ID, "toast").text)
    check("401" in d.find_element(By.ID, "toast").text, f"the refusal does not say 401: {d.find_element(By.ID, 'toast').text}")
    check(version_card(promoted) is None, f"{promoted} exists after a refused promote")
    d.find_element(By.ID, "token-forget").click()

    step("the admin token from memory, Escape cancels, then a confirmed promote moves the version")
    token = d.find_element(By.ID, "token")
    token.send_keys(TOKEN, Keys.ENTER)
    check(d.find_element(By.ID, "token").get_attribute("value") == "", "the token stays in the input")
    check(d.execute_script("return document.cookie") == "", "a cookie was set")
    check(d.execute_script("return localStorage.length + sessionStorage.length") == 0, "the token went to storage")
    wait("the buttons to be enabled", lambda: version_card(promote) and version_card(promote).find_element(By.TAG_NAME, "button").is_enabled())
    version_card(promote).find_element(By.TAG_NAME, "button").click()
    wait("the confirmation", lambda: d.find_element(By.ID, "confirm").is_displayed())
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait("the confirmation to close", lambda: not d.find_element(By.ID, "confirm").is_displayed())
    time.sleep(0.3)
    check(version_card(promoted) is None, "Escape did not cancel the promote")
    version_card(promote).find_element(By.TAG_NAME, "button").click()
    wait("the confirmation", lambda: d.find_element(By.ID, "confirm").is_displayed())
    check(promote in d.find_element(By.ID, "confirm-text").text, "the confirmation does not name the version")
    d.find_element(By.ID, "confirm-ok").click()
    wait(f"{promoted} on the page", lambda: version_card(promoted) is not None)
    text = version_card(promoted).text
    check(f"promoted from {promote}" in text, f"{promoted} does not say where it came from: {text}")
    check(version_card(promoted) in env_column(model, to).find_elements(By.CSS_SELECTOR, "article.version"), f"{promoted} is not in the {to} column")
    status, body = api(f"/models/{model}/{to}/{version}", token=TOKEN)
    check(status == 200 and body["promoted_from"] == promote, f"the API does not have {promoted}: {status} {body}")
    shot("models-promoted")

    step("roll the alias back to another version (redeploy), confirmed")
    alias = EXPECT["rollback"]["alias"]
    d.get(UI + "/ui/#/services/" + alias)
    wait("the version picker", lambda: d.find_elements(By.ID, "redeploy-version"))
    d.find_element(By.ID, "redeploy-version").send_keys("version " + EXPECT["rollback"]["to"])
    d.find_element(By.XPATH, "//button[normalize-space()='Redeploy']").click()
    wait("the confirmation", lambda: d.find_element(By.ID, "confirm").is_displayed())
    d.find_element(By.ID, "confirm-ok").click()
    target_pin = f"{alias}-{EXPECT['rollback']['to']}"
    alias_of = "//dt[normalize-space()='Alias of']/following-sibling::dd[1]"
    wait(
        f"the page to show {alias} → {target_pin}",
        lambda: d.find_elements(By.XPATH, alias_of) and d.find_element(By.XPATH, alias_of).text == target_pin,
    )
    status, body = api("/services/" + alias, token=TOKEN)
    check(body.get("alias_of") == target_pin, f"the API says {alias} runs {body.get('alias_of')}")
    shot("service-rolled-back")

    step("delete a service, confirmed; the list loses it")
    gone = EXPECT["delete"]
    d.get(UI + "/ui/#/services/" + gone)
    wait("the delete button", lambda: d.find_elements(By.XPATH, "//button[normalize-space()='Delete service']"))
    d.find_element(By.XPATH, "//button[normalize-space()='Delete service']").click()
    wait("the confirmation", lambda: d.find_element(By.ID, "confirm").is_displayed())
    check(gone in d.find_element(By.ID, "confirm-text").text, "the confirmation does not name the service")
    d.find_element(By.ID, "confirm-ok").click()
    wait("the services list without it", lambda: rows() and gone not in rows())
    status, _ = api("/services/" + gone, token=TOKEN)
    check(status == 404, f"{gone} still answers {status}")
    all_services.remove(gone)

    step("the list follows the store: a delete by someone else leaves it within a refresh")
    other = EXPECT["failed"][0]
    status, body = api("/services/" + other, "DELETE", TOKEN)
    check(status == 200, f"deleting {other} answered {status}: {body}")
    wait(f"{other} to leave the list without a reload", lambda: rows() and other not in rows(), 12)
    all_services.remove(other)

    step("readable at phone width")
    d.set_window_size(390, 844)
    d.get(UI + "/ui/#/services")
    wait("the services table", lambda: len(rows()) == len(all_services))
    no_horizontal_scroll("services")
    hidden = d.execute_script(
        "const w = document.querySelector('#services').parentElement; return w.scrollWidth - w.clientWidth"
    )
    check(hidden <= 0, f"the services table hides {hidden} px sideways at phone width")
    shot("services-phone")
    d.get(UI + "/ui/#/models")
    wait("the model cards", lambda: d.find_elements(By.CSS_SELECTOR, "section.model"))
    no_horizontal_scroll("models")
    shot("models-phone")
    d.get(UI + "/ui/#/services/" + target)
    wait("the request form", lambda: d.find_elements(By.ID, "request"))
    no_horizontal_scroll("service")
    shot("service-phone")

    step("an empty host says what to do")
    d.set_window_size(1280, 900)
    empty = os.environ["EMPTY_UI_URL"].rstrip("/")
    d.get(empty + "/ui/")
    wait("the empty state", lambda: d.find_elements(By.ID, "empty"))
    check("mlops-host deploy" in d.find_element(By.ID, "empty").text, "the empty services page does not say to deploy")
    shot("services-empty")
    d.get(empty + "/ui/#/models")
    wait("the empty state", lambda: d.find_elements(By.ID, "empty") and "model versions" in d.find_element(By.ID, "empty").text)
    check("mlops-host deploy" in d.find_element(By.ID, "empty").text, "the empty models page does not say to deploy")

    step("no console errors but the refusals the test asked for")
    drain_console()
    refusal_steps = {
        "without a token the actions are disabled, and the API refuses them",
        "a wrong token is refused, with the reason shown",
    }
    bad = [
        (where, e["message"]) for where, e in console
        if e["level"] in ("SEVERE", "WARNING")
        and not (where in refusal_steps and "/promote" in e["message"] and "401" in e["message"])
    ]
    check(not bad, "console errors: " + "; ".join(f"[{w}] {m}" for w, m in bad))
    print(f"dashboard: all checks passed; {len(console)} console entries, none unexpected", flush=True)
except AssertionError as e:
    print(f"dashboard: FAILED: {e}", file=sys.stderr, flush=True)
    try:
        shot("failure")
    except Exception:  # noqa: BLE001 - the failure is what matters
        pass
    sys.exit(1)
finally:
    d.quit()
