"""What a user does in the browser tests, done as a user does it and robust to the app's own reruns: a click that
lands while a rerun redraws a widget can be lost, so each step waits for the app to be idle and checks it took."""
from playwright.sync_api import expect


def idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until no rerun is running."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidgetRunningIcon]')",
                           timeout=timeout_ms)


def go(page, server: str, path: str, heading: str) -> None:
    page.goto(server + path, wait_until="domcontentloaded")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    idle(page)


def choose(page, selectbox, option: str) -> None:
    """Pick `option` in a selectbox (open it, type to filter, click the option); again if a rerun closed it."""
    for attempt in range(4):
        idle(page)
        selectbox.click()
        page.wait_for_timeout(300)
        page.keyboard.type(option)
        try:
            page.get_by_role("option", name=option, exact=True).first.click(timeout=5_000)
            expect(selectbox.get_by_role("combobox")).to_have_value(option, timeout=5_000)  # the choice is the value
            break
        except Exception:
            if attempt == 3:
                raise
            page.keyboard.press("Escape")
    idle(page)


def pick(page, multiselect, name: str) -> None:
    """Add `name` to a multiselect the same way."""
    for attempt in range(4):
        idle(page)
        multiselect.locator("input").click()
        page.wait_for_timeout(500)
        page.keyboard.type(name)
        try:
            page.get_by_role("option", name=name, exact=True).click(timeout=5_000)
            break
        except Exception:
            if attempt == 3:
                raise
            page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    idle(page)


def radio(page, group: str, option: str) -> None:
    page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True).click()
    expect(page.get_by_role("radiogroup", name=group).get_by_role("radio", name=option)).to_be_checked()
    page.wait_for_timeout(500)  # the rerun that stores it
    idle(page)
