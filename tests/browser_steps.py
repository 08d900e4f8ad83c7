"""What a user does in the browser tests, done as a user does it and robust to the app's own reruns: a click that
lands while a rerun redraws a widget can be lost, so each step waits for the app to be idle and checks it took."""
from playwright.sync_api import expect


def idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until no rerun is running."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidgetRunningIcon]')",
                           timeout=timeout_ms)


def go(page, server: str, path: str, heading: str, projector: bool = False) -> None:
    """Open `path` and wait for its `heading`; `projector`: then switch projector mode on (projector_on)."""
    page.goto(server + path, wait_until="domcontentloaded")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    idle(page)
    if projector:
        projector_on(page)


def _centred(page, control) -> None:
    """Bring a control to the middle of the window: a list opened at the bottom edge has no room to show its
    options (the flake of issue 38: the selectbox was scrolled out of view when its option was looked for)."""
    control.wait_for(state="visible", timeout=60_000)
    control.evaluate("e => e.scrollIntoView({block: 'center', inline: 'nearest'})")
    page.wait_for_timeout(100)


def _option_clicked(page, name: str, tries_left: int, what: str) -> bool:
    """Click the listed option `name` once it is attached and visible; False (list closed again) while a retry
    is left, else a failure that says which step failed, with the page's screenshot beside it."""
    option = page.get_by_role("option", name=name, exact=True).first
    try:
        option.wait_for(state="visible", timeout=10_000)
        option.scroll_into_view_if_needed(timeout=5_000)
        option.click(timeout=5_000)
        return True
    except Exception as exc:
        if tries_left:
            page.keyboard.press("Escape")
            return False
        from tests.conftest import ARTIFACTS

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / ("failed_option_" + "".join(c if c.isalnum() else "_" for c in name)[:60] + ".png")
        page.screenshot(path=str(shot), full_page=True)
        raise AssertionError(f"{what}: the option {name!r} was not listed and visible after opening the list "
                             f"twice (page: {shot.name})") from exc


def _typed(page, field, text: str, tries_left: int) -> bool:
    """Type `text` into the list's search field once it has the focus, and check it arrived: on a loaded machine
    the list opened late, the keys went elsewhere, and the unfiltered list did not render the option (CI's
    flake of the A/B slider test). False (list closed again) while a retry is left."""
    try:
        expect(field).to_be_focused(timeout=10_000)
        page.keyboard.type(text)
        expect(field).to_have_value(text, timeout=10_000)
        return True
    except AssertionError:
        if not tries_left:
            raise
        page.keyboard.press("Escape")
        return False


def choose(page, selectbox, option: str) -> None:
    """Pick `option` in a selectbox as a user does: bring it into view, open it, type to filter, click the option
    once it is visible, and check it became the value; if a rerun closed the list, open it again (three tries)."""
    for tries_left in (2, 1, 0):
        idle(page)
        _centred(page, selectbox)
        if selectbox.get_by_role("combobox").input_value() == option:
            break
        selectbox.click()
        if not _typed(page, selectbox.get_by_role("combobox"), option, tries_left):
            continue
        if _option_clicked(page, option, tries_left, "choose"):
            expect(selectbox.get_by_role("combobox")).to_have_value(option, timeout=10_000)
            break
    idle(page)


def pick(page, multiselect, name: str) -> None:
    """Add `name` to a multiselect the same way."""
    for tries_left in (2, 1, 0):
        idle(page)
        _centred(page, multiselect)
        multiselect.locator("input").click()
        if not _typed(page, multiselect.locator("input"), name, tries_left):
            continue
        if _option_clicked(page, name, tries_left, "pick"):
            break
    page.keyboard.press("Escape")
    idle(page)


def radio(page, group: str, option: str) -> None:
    page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True).click()
    expect(page.get_by_role("radiogroup", name=group).get_by_role("radio", name=option)).to_be_checked()
    page.wait_for_timeout(500)  # the rerun that stores it
    idle(page)


def projector_on(page) -> None:
    """Projector mode switched on in the sidebar, and the page redrawn with it (the root font at 20 px)."""
    page.get_by_test_id("stSidebar").get_by_text("Projector mode").click()
    page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '20px'", timeout=30_000)
    idle(page)


def shown_text(page) -> str:
    """What the main area shows now: its text, less what closed expanders hold (a closed <details> draws nothing)."""
    return page.get_by_test_id("stMain").inner_text()
