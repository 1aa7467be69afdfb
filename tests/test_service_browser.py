"""The web page in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from service_testdata import BOILERPLATE_FR, api_settings, build_index, serve_in_thread

from service.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANSWER = "Le protocole de coopération a été signé le 8 juillet 2024 au CHU de Lille"

pytestmark = pytest.mark.slow


@contextmanager
def _serve(settings: Settings) -> Iterator[str]:
    with serve_in_thread(settings) as (host, port):
        yield f"http://{host}:{port}"


@pytest.fixture(scope="module")
def index_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    build_index(root / "data", root / "docs")
    return root


def _read_only(index_root: Path, threshold: float) -> Settings:
    return api_settings(index_root / "data", answer_threshold=threshold, api_token=None)


@pytest.fixture(scope="module")
def base_url(index_root: Path) -> Iterator[str]:
    with _serve(_read_only(index_root, 0.0)) as url:
        yield url


@pytest.fixture(scope="module")
def declining_url(index_root: Path) -> Iterator[str]:
    """The same index served with a threshold no confidence reaches: /ask always declines."""
    with _serve(_read_only(index_root, 1.0)) as url:
        yield url


def _browser_page(url: str):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "install Debian's chromium package (`make test` does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="fr-FR")
        # Offline: any request that is not to the server fails, as on a machine without a net.
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(url)
                else route.abort("internetdisconnected")
            ),
        )
        # Every Content-Security-Policy violation, as the browser reports it to the page.
        context.add_init_script(
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation', e => window.__csp.push("
            "e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile));"
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        outside: list[str] = []
        console_csp: list[str] = []
        page.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith(url) else None,
        )
        page.on(
            "console",
            lambda m: console_csp.append(m.text) if "Content Security Policy" in m.text else None,
        )
        yield page
        violations = page.evaluate("window.__csp || []")
        browser.close()
        assert outside == [], f"the page fetched from outside the server: {outside}"
        assert violations == [] and console_csp == [], (violations, console_csp)


@pytest.fixture()
def declining_page(declining_url: str):
    yield from _browser_page(declining_url)


@pytest.fixture()
def page(base_url: str):
    yield from _browser_page(base_url)


def test_question_shows_cited_answer_and_document_view_highlights_it(page, base_url):
    page.goto(base_url + "/")
    # The query box has a French label and has the focus: typing and Enter is enough.
    box = page.get_by_label("Votre question")
    assert page.evaluate("document.activeElement.id") == "q"
    box.type("Quand le protocole de coopération a-t-il été signé au CHU ?")
    page.keyboard.press("Enter")

    mark = page.locator("#answer blockquote mark")
    mark.wait_for()
    assert mark.inner_text().startswith(ANSWER)
    citation = page.locator("#answer .citation cite").inner_text()
    assert "[lille_protocol, " in citation and "caractères " in citation
    passages = page.locator("ol.passages li.passage")
    assert passages.count() >= 1
    assert passages.first.locator("mark").inner_text().startswith(ANSWER)

    # Open the document view from the keyboard.
    page.locator("#answer-link").focus()
    page.keyboard.press("Enter")
    cited = page.locator("#doc-view #cited")
    cited.wait_for()
    assert cited.inner_text().startswith(ANSWER)
    assert page.evaluate("document.activeElement.id") == "cited"
    assert page.locator("#search-view").is_hidden()
    doc_text = page.locator("#doc-text").inner_text()
    assert "Université de Lille" in doc_text and doc_text.index(ANSWER) > 0
    assert "#/doc/lille_protocol?start=" in page.url

    # Back to the results, which are still there.
    page.go_back()
    page.locator("#answer blockquote mark").wait_for()


def test_answer_span_is_marked_inside_the_cited_sentence(page, base_url):
    page.goto(base_url + "/")
    page.get_by_label("Votre question").fill(
        "Quand le protocole de coopération a-t-il été signé au CHU ?"
    )
    page.keyboard.press("Enter")
    span = page.locator("#answer blockquote mark strong.answer-span")
    span.wait_for()
    assert span.inner_text() == "8 juillet 2024"
    assert page.locator("#answer blockquote mark").inner_text().startswith(ANSWER)


def test_partner_and_document_filters_are_on_the_page(page, base_url):
    page.goto(base_url + "/")
    page.get_by_label("Chercher des passages").check()
    page.get_by_label("Partenaire").fill("paris-saclay")
    page.get_by_label("Mots-clés ou question").fill("Inserm recherche")
    page.keyboard.press("Enter")
    page.locator("ol.passages li").first.wait_for()
    cites = page.locator("ol.passages cite").all_inner_texts()
    assert cites and all(c.startswith("[saclay_convention,") for c in cites)

    page.get_by_label("Partenaire").fill("")
    page.get_by_label("Document (identifiant)").fill("northwest_interview")
    page.click("#submit")
    page.locator("ol.passages cite", has_text="northwest_interview").first.wait_for()
    cites = page.locator("ol.passages cite").all_inner_texts()
    assert cites and all(c.startswith("[northwest_interview,") for c in cites)


def test_declined_question_says_not_in_these_documents_with_the_closest_passages(
    declining_page, declining_url
):
    page = declining_page
    page.goto(declining_url + "/")
    page.get_by_label("Votre question").fill("Qui finance la chaire de cardiologie ?")
    page.keyboard.press("Enter")
    notice = page.locator("#answer.no-answer .no-answer-text")
    notice.wait_for()
    assert notice.inner_text().startswith("Pas dans ces documents")
    assert page.locator("#passages-heading").inner_text() == "Passages les plus proches"
    assert page.locator("ol.passages li.passage").count() >= 1
    assert page.locator("#answer blockquote").count() == 0

    page.click("#ui-en")
    page.click("#submit")
    page.locator("#passages-heading", has_text="Closest passages").wait_for()
    assert page.locator("#answer .no-answer-text").inner_text().startswith("Not in these documents")


def test_similar_wording_mode_lists_both_occurrences_in_english(page, base_url):
    page.goto(base_url + "/")
    page.click("#ui-en")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Similar wording (press office)").check()
    page.get_by_label("Sentence to find precedents for").fill(BOILERPLATE_FR)
    page.keyboard.press("Enter")
    first = page.locator("ol.wordings > li").first
    first.wait_for()
    occurrences = first.locator("ul.occurrences li")
    assert occurrences.count() == 2
    cites = " ".join(occurrences.all_inner_texts())
    assert "lille_protocol" in cites and "saclay_convention" in cites


def test_filters_and_errors_are_shown(page, base_url):
    page.goto(base_url + "/")
    page.get_by_label("Chercher des passages").check()
    page.get_by_label("Langue", exact=True).select_option("en")
    page.get_by_label("Mots-clés ou question").fill("Inserm research units")
    page.keyboard.press("Enter")
    page.locator("ol.passages li").first.wait_for()
    cites = page.locator("ol.passages cite").all_inner_texts()
    assert cites and all(c.startswith("[northwest_interview,") for c in cites)

    # A date range in the wrong order comes back as the API's message, shown on the page.
    page.get_by_label("Du", exact=True).fill("2024-05-01")
    page.get_by_label("Au", exact=True).fill("2023-01-01")
    page.click("#submit")
    status = page.locator("#status.error")
    status.wait_for()
    assert "date_from 2024-05-01 is after date_to 2023-01-01" in status.inner_text()


def test_page_sends_a_csp_and_passes_it(page, base_url):
    response = page.goto(base_url + "/")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    page.get_by_label("Votre question").fill("protocole de coopération")
    page.keyboard.press("Enter")
    page.locator("#answer blockquote mark").wait_for()
    # The fixture's teardown asserts no CSP violation and no request outside the server.


def test_api_docs_render_offline_from_local_swagger_ui(page, base_url):
    response = page.goto(base_url + "/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".swagger-ui .info .title").wait_for()
    assert "PartnerSearch" in page.locator(".swagger-ui .info .title").inner_text()
    operation = page.locator("#operations-search-search_search_post")
    operation.wait_for()
    operation.locator(".opblock-summary").click()  # expands and renders the schema examples
    page.locator("#operations-search-search_search_post .opblock-body").wait_for()
    assert page.locator(".opblock-tag").count() >= 3  # search, documents, ops
