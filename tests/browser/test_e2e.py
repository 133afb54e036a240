"""End-to-end tests in headless Chromium against ``streamlit run app.py``.

Each test waits for the app's script to finish (``data-test-script-state`` on the
``stApp`` element) after every action, as Streamlit's own browser tests do.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from pipeline.exports import (
    GOOGLE_COLUMNS,
    KLAVIYO_COLUMNS,
    LEAD_CSV_COLUMNS,
    META_COLUMNS,
)
from tests.browser.conftest import running_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "real" / "shopify"
SCREENSHOTS = ROOT / "docs" / "screenshots"
APPAREL = [
    REAL / "apparel_orders_2020_2023.csv",
    REAL / "apparel_orders_2023_2024.csv",
    REAL / "apparel_abandoned_checkouts_2023_2026.csv",
]
PAGES = [
    ("Overview", "overview"),
    ("Funnel", "funnel"),
    ("Customer value", "customer_value"),
    ("Attribution", "attribution"),
    ("Leads and exports", "leads"),
]
EXPORTS = {
    "download_leads": LEAD_CSV_COLUMNS,
    "download_klaviyo": KLAVIYO_COLUMNS,
    "download_meta": META_COLUMNS,
    "download_google": GOOGLE_COLUMNS,
}
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_for_app(page, settle_ms: int = 400) -> None:
    """Wait until the app's script has finished its run and the page has settled.

    An action starts a rerun after a short debounce: wait up to ``settle_ms`` for
    the script to start, then for it to finish (twice, in case of a second rerun).
    """
    try:
        page.wait_for_selector(RUNNING, state="attached", timeout=settle_ms)
    except PlaywrightTimeout:
        pass  # it ran and finished already, or the action did not rerun
    page.wait_for_selector(DONE, state="attached")
    page.wait_for_timeout(200)
    page.wait_for_selector(DONE, state="attached")


def assert_no_exception(page, where: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()}"


def open_app(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stSidebar"]')
    wait_for_app(page, 800)
    assert_no_exception(page, url)


def go_to(page, title: str) -> None:
    """Click a page in the sidebar navigation and wait for it to run."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    wait_for_app(page, 800)
    assert_no_exception(page, title)


def main_text(page) -> str:
    """The page's words and figures: text, metrics, alerts (not chart pixels)."""
    parts = page.locator(
        '[data-testid="stMain"] [data-testid="stMarkdownContainer"], '
        '[data-testid="stMain"] [data-testid="stMetric"], '
        '[data-testid="stMain"] [data-testid="stAlert"]'
    ).all_inner_texts()
    return "\n".join(parts)


def move_rule_slider(page, label: str, key: str, presses: int, arrow: str) -> None:
    """Open a stage rule's expander and move one of its sliders by keyboard."""
    slider = page.locator(f'.st-key-{key} [data-testid="stSlider"]')
    if not slider.is_visible():
        page.locator('[data-testid="stSidebar"] summary', has_text=label).first.click()
        slider.wait_for(state="visible")
    thumb = slider_input(page, key)
    thumb.focus()
    for _ in range(presses):
        thumb.press(arrow)
    wait_for_app(page, 1200)


def slider_input(page, key: str):
    """The range input behind a slider (react-aria keeps it visually hidden)."""
    return page.locator(f'.st-key-{key} input[type="range"]')


def upload_apparel(page) -> None:
    page.locator(".st-key-uploads input[type=file]").set_input_files(
        [str(p) for p in APPAREL]
    )
    page.wait_for_timeout(1500)
    wait_for_app(page, 1500)
    assert_no_exception(page, "upload")


def screenshot(page, path: Path) -> None:
    """A screenshot of the whole page: the window grown to the main area's height.

    Streamlit scrolls inside its main container, so a "full page" screenshot of
    the document shows only the window; growing the window shows everything.
    """
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
    )
    size = page.viewport_size
    page.set_viewport_size(
        {"width": size["width"], "height": min(max(height, 900), 9000)}
    )
    page.wait_for_timeout(1200)
    wait_for_app(page, 200)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def download(page, key: str, folder: Path) -> Path:
    """Click one download button and save what it sends.

    A rerun that lands just before the click can replace the file behind the
    button, so one missed download is retried after the app settles.
    """
    button = page.locator(f".st-key-{key} button")
    for attempt in range(2):
        wait_for_app(page, 300)
        button.scroll_into_view_if_needed()
        try:
            with page.expect_download(timeout=90_000) as info:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt:
                raise
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def open_expander(page, label: str) -> None:
    """Open a sidebar expander by its label (left alone when already open)."""
    expander = page.locator('[data-testid="stSidebar"] details', has_text=label).first
    if expander.get_attribute("open") is None:
        expander.locator("summary").click()
    page.wait_for_timeout(300)


def check_report_offline(browser, path: Path) -> int:
    """Open the HTML report from disk with the network blocked; count its charts."""
    context = browser.new_context(offline=True)
    fetched: list[str] = []

    def block(route):
        if not route.request.url.startswith("file:"):
            fetched.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", block)
    page = context.new_page()
    page.goto(path.as_uri())
    figures = page.locator("figure.chart")
    charts = page.locator("figure.chart > svg")
    count = figures.count()
    assert count >= 2
    assert charts.count() == count
    for i in range(count):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, f"chart {i} is empty"
    sections = page.locator("section")
    assert sections.count() == 4
    for i in range(4):
        section = sections.nth(i)
        shown = section.locator("svg").count() > 0
        assert shown or "Not shown:" in section.inner_text()
    assert fetched == [], f"the report fetched {fetched}"
    context.close()
    return count


def test_sample_brand_opens(page, app_url):
    """Test that the app opens on the demo brand with every page listed."""
    open_app(page, app_url)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Showing the demo brand" in sidebar
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    for title, _ in PAGES:
        assert title in nav


def test_a_page_opened_by_its_address_on_a_fresh_server(page, tmp_path):
    """Test a shared link to a page as the server's first visit: Streamlit would run
    the page without app.py (taking pages/ for an old-style multipage app); it runs
    through app.py instead, on the linked page with the linked date."""
    with running_app(tmp_path) as url:
        page.goto(f"{url}/funnel?as_of=2026-06-01")
        page.wait_for_selector('[data-testid="stMain"] h1:has-text("Funnel")')
        wait_for_app(page, 800)
        assert_no_exception(page, "the linked Funnel page")
        nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert [n.split("\n")[-1] for n in nav] == [title for title, _ in PAGES]
        words = page.locator('[data-testid="stMain"]').inner_text()
        assert "Leads as of 01 Jun 2026" in words


def test_slider_changes_the_funnel_and_a_copied_url_reopens_it(browser, app_url):
    """Test that a rule slider changes the funnel, and its URL reopens the same view."""
    first = browser.new_context(viewport={"width": 1400, "height": 1000})
    first.set_default_timeout(180_000)
    page = first.new_page()
    open_app(page, app_url)
    go_to(page, "Funnel")
    before = main_text(page)

    move_rule_slider(
        page, "engaged: email opens", "rule_engaged_opens_min_count", 2, "ArrowLeft"
    )
    assert_no_exception(page, "after the slider")
    assert re.search(r"rule_engaged_opens_min_count=1\b", page.url), page.url
    after = main_text(page)
    assert after != before, "moving the opens slider did not change the funnel page"
    shared = page.url

    second = browser.new_context(viewport={"width": 1400, "height": 1000})
    second.set_default_timeout(180_000)
    other = second.new_page()
    open_app(other, shared)
    thumb = slider_input(other, "rule_engaged_opens_min_count")
    assert thumb.input_value() == "1"
    assert main_text(other) == after
    first.close()
    second.close()


def test_real_apparel_every_page_screenshots_and_downloads(
    browser, page, app_url, tmp_path
):
    """Test the real apparel exports on every page; save screenshots; download all."""
    open_app(page, app_url)
    upload_apparel(page)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Showing the demo brand" not in sidebar
    assert "Using 3 uploaded file(s)" in sidebar
    # New data, new "as of": the last checkout day of the real files (README).
    assert page.locator(".st-key-as_of input").input_value() == "2026-03-29"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for title, name in PAGES:
        go_to(page, title)
        page.wait_for_timeout(1500)  # let charts draw
        screenshot(page, SCREENSHOTS / f"{name}.png")

    # On the leads page now: every export that has people, read back.
    for key, columns in EXPORTS.items():
        button = page.locator(f".st-key-{key} button")
        if button.is_disabled():
            continue  # no consenting people in the real files: nothing to export
        path = download(page, key, tmp_path)
        header = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert tuple(header) == columns
    report = download(page, "download_report", tmp_path)
    check_report_offline(browser, report)


def test_sample_downloads_every_export(browser, page, app_url, tmp_path):
    """Test every download on the demo brand: layouts read back, report offline."""
    open_app(page, app_url)
    go_to(page, "Leads and exports")
    for key, columns in EXPORTS.items():
        path = download(page, key, tmp_path)
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert tuple(rows[0]) == columns, key
        assert len(rows) > 1, f"{key}: no rows"
    report = download(page, "download_report", tmp_path)
    assert report.suffix == ".html"
    check_report_offline(browser, report)


def test_presets_save_load_and_restore_defaults(page, app_url, tmp_path):
    """Test saving rules to JSON, restoring the defaults and loading the file back."""
    from pipeline.rules import StageRules

    open_app(page, app_url)
    move_rule_slider(
        page, "engaged: email opens", "rule_engaged_opens_min_count", 2, "ArrowLeft"
    )
    key = "rule_engaged_opens_min_count"
    assert slider_input(page, key).input_value() == "1"

    open_expander(page, "Rule presets")
    saved = download(page, "preset_save", tmp_path)
    rules = StageRules.from_json(saved.read_text(encoding="utf-8"))
    assert rules == StageRules().with_rule("engaged_opens", min_count=1)

    page.locator(".st-key-restore_defaults button").click()
    wait_for_app(page, 1200)
    assert slider_input(page, key).input_value() == "3"
    assert key not in page.url

    page.locator(".st-key-preset_load input[type=file]").set_input_files(str(saved))
    wait_for_app(page, 1500)
    assert_no_exception(page, "preset load")
    assert slider_input(page, key).input_value() == "1"
    assert f"{key}=1" in page.url


def test_a_copied_url_on_uploaded_data_reopens_after_the_same_upload(browser, app_url):
    """Test that a link made on uploaded files reopens the view once they are
    uploaded again in a new session (files never travel in the URL)."""
    key = "rule_intent_cart_window_days"
    label = "purchase intent: cart or checkout"
    first = browser.new_context(viewport={"width": 1400, "height": 1000})
    first.set_default_timeout(180_000)
    page = first.new_page()
    open_app(page, app_url)
    upload_apparel(page)
    go_to(page, "Funnel")
    before = main_text(page)
    move_rule_slider(page, label, key, 5, "ArrowRight")
    assert slider_input(page, key).input_value() == "35"
    after = main_text(page)
    assert after != before, "a longer cart window changed nothing on the funnel page"
    shared = page.url
    assert f"{key}=35" in shared

    second = browser.new_context(viewport={"width": 1400, "height": 1000})
    second.set_default_timeout(180_000)
    other = second.new_page()
    open_app(other, shared)
    upload_apparel(other)
    assert slider_input(other, key).input_value() == "35"
    assert other.locator(".st-key-as_of input").input_value() == "2026-03-29"
    assert main_text(other) == after
    first.close()
    second.close()


def test_overview_tables_fit_at_1280_px(browser, app_url, tmp_path):
    """Test the new-user defects on many real files at 1280 px: the files table cut
    its Kind, its dates ("2026-03-2") and its last column, and the people-matched
    table showed only its blank first column, its headings being full kind names.
    Now no table of the Overview scrolls sideways (at the last release the files
    table was 997 px wide and the matched table 2,027 px, in 818 px)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(180_000)
    page = context.new_page()
    open_app(page, app_url)
    files = sorted(REAL.parent.glob("*/*.csv"))
    page.locator(".st-key-uploads input[type=file]").set_input_files(
        [str(p) for p in files]
    )
    page.wait_for_timeout(1500)
    wait_for_app(page, 1500)
    assert_no_exception(page, "upload")
    assert "People matched between sources" in main_text(page)
    widths = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')
    sizes = widths.evaluate_all(
        """tables => tables.map(t => {
            const s = t.querySelector('.dvn-scroller');
            return [s.scrollWidth, s.clientWidth];
        })"""
    )
    # files, awareness traffic by channel, rows excluded by a rule, people matched
    assert len(sizes) == 4
    for scroll, client in sizes:
        assert scroll <= client, sizes
    screenshot(page, tmp_path / "overview_1280.png")
    context.close()
