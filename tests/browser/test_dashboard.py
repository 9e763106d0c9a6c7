"""The dashboard in headless Chromium: the numbers it shows equal the API's, the language switch,
the register filters, an agreement's timeline, the public view without personal data, and a
phone-size layout. Screenshots go to tests/artifacts/browser/."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.browser.conftest import PHONE, shot
from tests.browser.seed import CONTACT, PERSONAL_STRINGS, UNIVERSITY_CONTACT

MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
             "November", "Desember"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
ID_DATE = r"\d{2} (?:%s) \d{4}" % "|".join(MONTHS_ID)


def id_date(iso: str, months=MONTHS_ID) -> str:
    year, month, day = iso[:10].split("-")
    return f"{day} {months[int(month) - 1]} {year}"


def wib(timestamp: str) -> str:
    """An event time as the dashboard shows it: Jakarta time, whatever the browser's time zone."""
    t = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Jakarta"))
    return f"{t.day:02d} {MONTHS_ID[t.month - 1]} {t.year}, {t.hour:02d}.{t.minute:02d} WIB"


def id_number(value) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def renders(page) -> int:
    return int(page.get_attribute("#main", "data-renders") or 0)


def wait_view(page, view: str, after: int = 0, timeout: float = 15_000):
    """Wait (with a deadline) until ``view`` has rendered, later than render number ``after``."""
    page.wait_for_function(
        """([view, after]) => { const m = document.getElementById('main');
             return m && m.dataset.view === view && m.dataset.state === 'ready' && Number(m.dataset.renders || 0) > after; }""",
        arg=[view, after], timeout=timeout)
    assert page.get_attribute("#main", "data-state") == "ready"


def go(page, route: str, view: str):
    """Follow an in-app link (hash route) and wait for the view."""
    before = renders(page)
    page.evaluate("h => { window.location.hash = h; }", route)
    wait_view(page, view, before)


def open_dashboard(page, stack, view="overview", role="kerjasama", route="", **query):
    page.goto(stack.dashboard_url(role, route, **query))
    wait_view(page, view)
    assert "token=" not in page.url  # the token is taken out of the address bar


def data_values(locator) -> dict:
    return {el.get_attribute("data-key"): float(el.get_attribute("data-value")) for el in locator.all()}


def nonzero(counts: dict) -> dict:
    return {str(k): float(v) for k, v in counts.items() if v}


def no_problems(page):
    assert page.problems == [], page.problems


# ------------------------------------------------------------------------------------------------

def test_overview_headlines_and_charts_equal_the_api(browser_stack, seeded, new_page):
    page = new_page()
    open_dashboard(page, browser_stack)
    stats = browser_stack.get("/api/v1/stats/overview")
    agreements, today = stats["agreements"], stats["today"]
    expected = {"headline-total": agreements["total"], "headline-active": agreements["by_status"].get("ACTIVE", 0),
                "headline-expiring": today["expiring_within_90"], "headline-overdue": today["evaluations_overdue"],
                "headline-partners": stats["partners"]["total"], "headline-reports": today["reports_overdue"]}
    assert expected == {"headline-total": 5, "headline-active": 3, "headline-expiring": 2, "headline-overdue": 1,
                        "headline-partners": 3, "headline-reports": 1}  # the seeded dataset
    for testid, value in expected.items():
        headline = page.get_by_test_id(testid)
        assert headline.is_visible()
        assert headline.get_attribute("data-value") == str(value), testid
        assert headline.inner_text().strip() == id_number(value), testid
    score = stats["evaluations"]["average_score"]
    headline = page.get_by_test_id("headline-score")
    assert float(headline.get_attribute("data-value")) == score
    assert headline.inner_text().strip() == id_number(score)

    # Every chart is drawn from the overview's data.
    assert data_values(page.locator('[data-testid="chart-status"] .bar')) == nonzero(agreements["by_status"])
    assert data_values(page.locator('[data-testid="chart-category"] .slice')) == nonzero(agreements["by_category"])
    assert data_values(page.locator('[data-testid="chart-partner-kind"] .bar')) == nonzero(agreements["by_partner_kind"])
    assert sum(data_values(page.locator('[data-testid="chart-scope"] .slice')).values()) == agreements["total"]
    starts = page.locator('[data-testid="chart-year"] .column[data-series="start"]')
    assert nonzero(data_values(starts)) == nonzero(agreements["by_year"])
    signed = page.locator('[data-testid="chart-year"] .column[data-series="signed"]')
    assert nonzero(data_values(signed)) == nonzero(agreements["signed_by_year"])
    ratings = data_values(page.locator('[data-testid="chart-rating"] .column'))
    assert set(ratings) == {"1", "2", "3", "4", "5"}
    assert nonzero(ratings) == nonzero(stats["evaluations"]["rating_distribution"])
    for chart in ("status", "category", "scope", "partner-kind", "year", "rating", "score-year", "opd", "urusan"):
        figure = page.get_by_test_id(f"chart-{chart}")
        box = figure.locator("svg.chart-svg").first.bounding_box()
        assert box and box["width"] > 150 and box["height"] > 40, chart

    as_of = page.get_by_test_id("as-of").inner_text()
    assert as_of == f"Data per {id_date(stats['as_of'])}" and re.search(ID_DATE, as_of)
    shot(page, "overview-laptop-id")
    no_problems(page)


def test_language_switch_changes_labels_and_is_remembered(browser_stack, seeded, new_page):
    page = new_page()
    open_dashboard(page, browser_stack)
    nav = page.get_by_test_id("nav-register")
    assert page.get_attribute("html", "lang") == "id"
    assert nav.inner_text() == "Register Kerja Sama"
    assert page.locator(".metric-label").first.inner_text() == "Total kerja sama"
    assert page.get_by_test_id("lang-id").get_attribute("aria-pressed") == "true"

    before = renders(page)
    page.get_by_test_id("lang-switch").get_by_test_id("lang-en").click()
    wait_view(page, "overview", before)
    assert page.get_attribute("html", "lang") == "en"
    assert nav.inner_text() == "Agreement register"
    assert page.locator(".metric-label").first.inner_text() == "Total agreements"
    assert page.get_by_test_id("lang-en").get_attribute("aria-pressed") == "true"
    stats = browser_stack.get("/api/v1/stats/overview")
    assert page.get_by_test_id("as-of").inner_text() == f"Data as of {id_date(stats['as_of'], MONTHS_EN)}"
    assert page.get_by_test_id("headline-total").get_attribute("data-value") == str(stats["agreements"]["total"])
    shot(page, "overview-laptop-en")

    page.reload()  # the choice is kept
    wait_view(page, "overview")
    assert page.get_by_test_id("nav-register").inner_text() == "Agreement register"
    before = renders(page)
    page.get_by_test_id("lang-id").click()
    wait_view(page, "overview", before)
    assert page.get_by_test_id("nav-register").inner_text() == "Register Kerja Sama"
    no_problems(page)


def test_register_filters_show_what_the_api_returns(browser_stack, seeded, new_page):
    page = new_page()
    open_dashboard(page, browser_stack, view="register", route="/register")

    def same_as_api(params, expected_total):
        api = browser_stack.get("/api/v1/agreements", per_page=200, **params)
        assert api["total"] == expected_total, params
        rows = page.get_by_test_id("register-row")
        assert rows.count() == api["total"], params
        assert {r.get_attribute("data-id") for r in rows.all()} == {i["id"] for i in api["items"]}
        assert page.get_by_test_id("register-total").get_attribute("data-value") == str(api["total"])

    same_as_api({}, 5)
    steps = [("filter-status", "ACTIVE", {"status": "ACTIVE"}, 3),
             ("filter-category", "KSDD", {"status": "ACTIVE", "category": "KSDD"}, 2),
             ("filter-document-kind", "PKS", {"status": "ACTIVE", "category": "KSDD", "document_kind": "PKS"}, 1)]
    for testid, value, params, total in steps:
        before = renders(page)
        page.get_by_test_id(testid).select_option(value)
        wait_view(page, "register", before)
        assert page.get_by_test_id(testid).input_value() == value
        same_as_api(params, total)
    assert "status=ACTIVE" in page.url and "category=KSDD" in page.url  # a link to this filtered list
    shot(page, "register-filtered")

    before = renders(page)
    page.get_by_test_id("filter-reset").click()
    wait_view(page, "register", before)
    same_as_api({}, 5)

    year = str(browser_stack.get(f"/api/v1/agreements/{seeded['kb']}")["year"])
    before = renders(page)
    page.get_by_test_id("filter-year").select_option(year)
    wait_view(page, "register", before)
    same_as_api({"year": year}, 1)

    before = renders(page)
    page.get_by_test_id("filter-reset").click()
    wait_view(page, "register", before)
    before = renders(page)
    page.get_by_test_id("filter-q").fill("sampah")
    page.get_by_test_id("filter-q").press("Enter")
    wait_view(page, "register", before)
    same_as_api({"q": "sampah"}, 2)
    shot(page, "register-search")
    no_problems(page)


def test_agreement_page_shows_its_timeline_work_plan_and_score(browser_stack, seeded, new_page):
    page = new_page()
    open_dashboard(page, browser_stack, view="register", route="/register")
    before = renders(page)
    page.locator(f'[data-testid="register-row"][data-id="{seeded["pks"]}"] a').first.click()
    wait_view(page, "agreement", before)

    item = browser_stack.get(f"/api/v1/agreements/{seeded['pks']}")
    feed = browser_stack.get("/api/v1/feed", subject=seeded["pks"], per_page=200)
    assert feed["total"] >= 10  # drafted … signed, activated, work plan, reports, evaluation scheduled
    entries = page.get_by_test_id("timeline").get_by_test_id("timeline-entry")
    assert entries.count() == feed["total"]
    assert [e.get_attribute("data-event-type") for e in entries.all()] == [e["event_type"] for e in feed["items"]]
    assert page.get_by_test_id("timeline-count").get_attribute("data-value") == str(feed["total"])
    assert "Draf disusun" in entries.last.inner_text() and re.search(ID_DATE, entries.last.inner_text())
    assert entries.first.locator("time").inner_text() == wib(feed["items"][0]["occurred_at"])

    assert page.get_by_test_id("agreement-title").inner_text() == item["title"]
    assert page.get_by_test_id("agreement-value").inner_text() == "Rp 450.000.000"
    facts = page.get_by_test_id("agreement-details").inner_text()
    assert id_date(item["start_date"]) in facts and id_date(item["end_date"]) in facts
    activities = page.get_by_test_id("activity-row")
    assert activities.count() == len(item["activities"]) == 2
    progress = {a.get_attribute("data-id"): float(a.get_by_test_id("activity-progress").get_attribute("data-value"))
                for a in activities.all()}
    assert progress == {a["activity_id"]: a["progress"] for a in item["activities"]} == {"armada": 60.0,
                                                                                         "pelatihan": 100.0}
    assert float(page.get_by_test_id("overall-progress").get_attribute("data-value")) == item["progress"] == 80.0
    assert page.get_by_test_id("flag-report-overdue").is_visible()
    shot(page, "agreement-pks")

    go(page, f"#/agreement/{seeded['unja_kb']}", "agreement")
    scored = browser_stack.get(f"/api/v1/agreements/{seeded['unja_kb']}")
    score = page.get_by_test_id("latest-score")
    assert float(score.get_attribute("data-value")) == scored["latest_score"]
    assert score.inner_text() == id_number(scored["latest_score"])
    assert page.get_by_test_id("evaluation-row").count() == 1
    feed = browser_stack.get("/api/v1/feed", subject=seeded["unja_kb"], per_page=200)
    assert page.get_by_test_id("timeline-entry").count() == feed["total"]
    assert "evaluation.finalized" in [e.get_attribute("data-event-type") for e in page.get_by_test_id("timeline-entry").all()]
    addenda = page.get_by_test_id("addendum-row")
    assert [(a.get_attribute("data-no"), a.get_attribute("data-status")) for a in addenda.all()] == [("1", "SIGNED")]
    assert "Ditandatangani" in addenda.first.inner_text() and "telaah TKKSD" in addenda.first.inner_text()
    shot(page, "agreement-scored")
    no_problems(page)


def test_partner_and_opd_pages_show_portfolio_and_agreements(browser_stack, seeded, new_page):
    page = new_page()
    open_dashboard(page, browser_stack, view="partner", route=f"/partner/{seeded['kota']}")
    portfolio = browser_stack.get(f"/api/v1/portfolios/partners/{seeded['kota']}")
    assert page.get_by_test_id("partner-name").inner_text() == "Pemerintah Kota Jambi"
    assert page.get_by_test_id("portfolio-agreements").get_attribute("data-value") == str(portfolio["agreements"])
    assert page.get_by_test_id("portfolio-active").get_attribute("data-value") == str(portfolio["active"])
    listed = browser_stack.get("/api/v1/agreements", partner=seeded["kota"], per_page=200)
    assert page.get_by_test_id("register-row").count() == listed["total"] == 3
    assert CONTACT["name"] in page.get_by_test_id("partner-contacts").inner_text()  # staff see contact persons
    shot(page, "partner-staff")

    go(page, "#/opd/DLH", "opd")
    portfolio = browser_stack.get("/api/v1/portfolios/opds/DLH")
    assert page.get_by_test_id("portfolio-agreements").get_attribute("data-value") == str(portfolio["agreements"])
    listed = browser_stack.get("/api/v1/agreements", opd="DLH", per_page=200)
    assert page.get_by_test_id("register-row").count() == listed["total"] == 1
    shot(page, "opd")
    no_problems(page)


def test_expiring_and_overdue_lists_match_the_api(browser_stack, seeded, new_page):
    page = new_page()
    open_dashboard(page, browser_stack, view="expiring", route="/expiring")
    expiring = browser_stack.get("/api/v1/agreements", expiring=90, per_page=200)
    assert page.get_by_test_id("expiring-row").count() == expiring["total"] == 2
    assert {r.get_attribute("data-id") for r in page.get_by_test_id("expiring-row").all()} == {seeded["kb"], seeded["pks"]}
    shot(page, "expiring")

    go(page, "#/overdue", "overdue")
    evaluations = browser_stack.get("/api/v1/evaluations", due="overdue", per_page=200)
    rows = page.get_by_test_id("overdue-evaluation-row")
    assert rows.count() == evaluations["total"] == 1
    assert rows.first.get_attribute("data-id") == seeded["overdue_evaluation"]
    reports = browser_stack.get("/api/v1/agreements", overdue_report="true", per_page=200)
    assert page.get_by_test_id("overdue-report-row").count() == reports["total"] == 1
    shot(page, "overdue")
    no_problems(page)


def test_public_view_shows_no_personal_data(browser_stack, seeded, new_page):
    page = new_page()
    page.goto(f"{browser_stack.urls['evaluation']}/dashboard/")  # no token: the access page
    wait_view(page, "access")
    assert page.get_by_test_id("access-reason").is_visible()
    before = renders(page)
    page.get_by_test_id("demo-role-publik").click()  # "Masuk sebagai (demo)": /dashboard/dev-token
    wait_view(page, "overview", before)
    assert page.get_by_test_id("role-badge").get_attribute("data-role") == "publik"
    assert page.get_by_test_id("publik-notice").is_visible()

    def no_personal_data(where):
        text = page.inner_text("body") + page.content()
        leaked = [s for s in PERSONAL_STRINGS if s in text]
        assert not leaked, f"{where}: {leaked}"

    no_personal_data("overview")
    go(page, "#/register", "register")
    public = browser_stack.get("/api/v1/agreements", role="publik", per_page=200)
    rows = page.get_by_test_id("register-row")
    assert rows.count() == public["total"] == 3  # signed ones only
    assert seeded["draft"] not in {r.get_attribute("data-id") for r in rows.all()}
    no_personal_data("register")
    shot(page, "publik-register")

    go(page, f"#/partner/{seeded['kota']}", "partner")
    assert page.get_by_test_id("partner-name").inner_text() == "Pemerintah Kota Jambi"
    assert page.get_by_test_id("partner-contacts").count() == 0
    no_personal_data("partner page")
    shot(page, "publik-partner")
    go(page, f"#/partner/{seeded['unja']}", "partner")
    no_personal_data("university page")
    go(page, "#/partners", "partners")
    no_personal_data("partners")

    go(page, f"#/agreement/{seeded['pks']}", "agreement")
    assert page.get_by_test_id("timeline-forbidden").is_visible()
    assert page.get_by_test_id("timeline-entry").count() == 0
    assert page.get_by_test_id("activity-row").count() == 2  # the work plan is public information
    no_personal_data("agreement page")
    shot(page, "publik-agreement")

    go(page, "#/overdue", "overdue")
    assert page.get_by_test_id("overdue-evaluations-card").get_by_test_id("message-forbidden").is_visible()
    assert page.get_by_test_id("overdue-report-row").count() == 1
    no_personal_data("overdue")

    before = renders(page)  # a draft is not public: the API answers 404, the page says so
    page.evaluate("h => { window.location.hash = h; }", f"#/agreement/{seeded['draft']}")
    page.wait_for_function("n => Number(document.getElementById('main').dataset.renders) > n", arg=before)
    assert page.get_by_test_id("message-not-found").is_visible()

    api_calls = [u for u in page.requests if "/api/v1/" in u]
    assert api_calls and not [u for u in api_calls if "/contacts" in u or "/feed" in u or "/evaluations" in u]
    assert UNIVERSITY_CONTACT["email"] not in page.content()


def test_phone_layout_has_a_collapsible_navigation(browser_stack, seeded, new_page):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    open_dashboard(page, browser_stack)
    toggle = page.get_by_test_id("nav-toggle")
    assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    assert not page.get_by_test_id("nav-register").is_visible()
    assert page.get_by_test_id("headline-total").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "overview-phone")

    toggle.click()
    page.get_by_test_id("nav-register").wait_for(state="visible")
    assert toggle.get_attribute("aria-expanded") == "true"
    page.wait_for_function("() => document.getElementById('nav').getBoundingClientRect().left >= 0")  # slid in
    shot(page, "nav-open-phone", full_page=False)
    before = renders(page)
    page.get_by_test_id("nav-register").click()
    wait_view(page, "register", before)
    page.get_by_test_id("nav-register").wait_for(state="hidden")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.get_by_test_id("register-row").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "register-phone")

    go(page, f"#/agreement/{seeded['pks']}", "agreement")
    assert page.get_by_test_id("timeline-entry").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "agreement-phone")
    no_problems(page)
