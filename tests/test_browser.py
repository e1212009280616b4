"""The notebook widgets in a real browser: JupyterLab, Debian's chromium and Playwright.

A user types into the credentials manager and the collection form, the kernel validates live,
adds the credential and creates the collection; the saved notebook keeps the widget state but
never the token. Screenshots go to ``$VK_TEST_OUTPUT`` (default: the test's ``tmp_path``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Chromium, JupyterLab, write_notebook
from playwright.sync_api import Page, expect

import vectorize_kit as vk

pytestmark = pytest.mark.timeout(300)

TOKEN = "hf_browserTestSecret123"
KERNEL_TIMEOUT_MS = 60_000
UI_TIMEOUT_MS = 20_000
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

KERNEL_IDLE_JS = """() => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session
        && widget.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[JupyterLab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    root.mkdir()
    server = JupyterLab(base, root)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    launcher = Chromium()
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture
def output_dir(tmp_path) -> Path:
    out = Path(os.environ.get("VK_TEST_OUTPUT") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def new_page(chromium: Chromium, lab: JupyterLab) -> Iterator[Page]:
    """A fresh browser page (its console errors in ``page.console_errors``); at the end, the
    page is closed and every kernel shut down."""
    context = chromium.browser().new_context(viewport={"width": 1280, "height": 1100})
    try:
        context.set_default_timeout(UI_TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.console_errors = errors
        yield page
    finally:
        context.close()
        lab.shutdown_kernels()


@contextlib.contextmanager
def screenshot_on_failure(page: Page, path: Path) -> Iterator[None]:
    """On an exception, a screenshot of the page at ``path`` and the browser's errors."""
    try:
        yield
    except BaseException as exc:
        with contextlib.suppress(Exception):
            if not page.is_closed():
                page.screenshot(path=str(path), full_page=True)
        errors = getattr(page, "console_errors", [])
        note = f"screenshot: {path}"
        if errors:
            note += "\nbrowser console errors:\n" + "\n".join(errors[-20:])
        if hasattr(exc, "add_note"):  # Python 3.11+
            exc.add_note(note)
        raise


# -- steps -------------------------------------------------------------------------------------


def open_notebook(page: Page, lab: JupyterLab, name: str) -> None:
    """Open a notebook in JupyterLab (a fresh layout) and wait for its kernel to be idle."""
    page.goto(lab.lab_url(name) + "&reset")
    page.wait_for_function(
        f"() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        f" && window.jupyterapp.shell.currentWidget.context"
        f" && window.jupyterapp.shell.currentWidget.context.path === {json.dumps(name)}",
        timeout=KERNEL_TIMEOUT_MS,
    )
    page.wait_for_function(KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_MS)


def run_all_cells(page: Page) -> None:
    """Run every cell (Run → Run All Cells) and wait until they are all done, without errors."""
    ok = page.evaluate(
        "() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_MS)
    assert_no_error_outputs(page)
    assert ok, "running the cells failed"


NOTEBOOK_SCROLLER_JS = """() => {
    const panel = window.jupyterapp.shell.currentWidget.node;
    return panel.querySelector('.jp-WindowedPanel-outer') || panel.querySelector('.jp-Notebook');
}"""


def screenshot_notebook(page: Page, path: Path, width: int = 1280) -> None:
    """A screenshot of the whole page, made tall enough to show the whole notebook."""
    scroller = page.evaluate_handle(NOTEBOOK_SCROLLER_JS)
    overflow = page.evaluate("el => el.scrollHeight - el.clientHeight", scroller)
    viewport = page.viewport_size
    if overflow > 0:
        page.set_viewport_size({"width": width, "height": min(viewport["height"] + overflow + 40,
                                                              6000)})
        # Lumino lays out again on the next frames: wait until the notebook fits
        page.wait_for_function("el => el.scrollHeight <= el.clientHeight + 1", arg=scroller)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)


def assert_no_error_outputs(page: Page) -> None:
    """No cell shows a traceback or anything on stderr."""
    errors = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    ).all_inner_texts()
    assert not errors, "the notebook shows errors:\n" + "\n".join(errors)


def save_notebook(page: Page, path: Path) -> dict:
    """Save the notebook with Ctrl+S and return the JSON written to disk."""
    # command mode in the notebook (not inside a widget's input), then Ctrl+S
    page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
    page.keyboard.press("Escape")
    with page.expect_response(
        lambda r: r.request.method == "PUT" and f"/api/contents/{path.name}" in r.url,
        timeout=UI_TIMEOUT_MS,
    ) as response:
        page.keyboard.press("Control+s")
    assert response.value.ok, response.value.status
    return json.loads(path.read_text(encoding="utf-8"))


# -- the harness on a plain ipywidgets.Text ----------------------------------------------------


def test_harness_types_into_a_text_widget(chromium, lab, output_dir):
    """The harness itself: a plain Text widget renders, takes keystrokes, syncs to the kernel."""
    write_notebook(lab.root / "harness.ipynb", [
        "import ipywidgets\nprobe = ipywidgets.Text()\nprobe.add_class('vk-probe')\nprobe",
        "import sys\nprint('VALUE=' + repr(probe.value))\nprint('PYTHON=' + sys.executable)",
    ])
    with (new_page(chromium, lab) as page,
          screenshot_on_failure(page, output_dir / "browser-harness-failure.png")):
        open_notebook(page, lab, "harness.ipynb")
        run_all_cells(page)
        field = page.locator(".vk-probe input")
        expect(field).to_be_visible()
        field.click()
        field.press_sequentially("hello browser")
        expect(field).to_have_value("hello browser")
        # run the second cell again, as a user would: click into it and press Shift+Enter
        page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        expect(page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea")
               ).to_contain_text("VALUE='hello browser'", timeout=KERNEL_TIMEOUT_MS)
        # the kernel is this venv's python
        expect(page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea")
               ).to_contain_text(f"PYTHON={sys.executable}")
        # widget state goes into the saved notebook (what the token test relies on)
        saved = save_notebook(page, lab.root / "harness.ipynb")
    state = saved["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    probes = [model["state"] for model in state.values()
              if "vk-probe" in model["state"].get("_dom_classes", ())]
    assert [probe.get("value") for probe in probes] == ["hello browser"], state


# -- the credentials manager and the collection form -------------------------------------------


def notebook_cells(workspace: Path) -> list[str]:
    return [
        "import vectorize_kit as vk\n"
        "from vectorize_kit.widgets import CredentialsManager, CreateCollectionForm\n"
        f"ws = vk.Workspace({str(workspace)!r})\n"
        'db = ws.create_database("demo")',
        "creds = CredentialsManager(ws)\ncreds",
        "form = CreateCollectionForm(ws)\nform",
    ]


def button(page: Page, css: str):
    """A Button widget by its class (the root element is the <button> itself)."""
    return page.locator(f"button.{css}, .{css} button")


def type_invalid_then_valid(page: Page, css: str, action: str, bad: str, good: str):
    """Type a name the rules refuse, then one they accept, into the ``css`` form; the rule
    checklist and the ``action`` button follow each keystroke. Returns the button."""
    name = page.locator(f".{css}-name input")
    unmet = page.locator(f".{css}-rules li.vk-unmet")
    act = button(page, f"{css}-{action}")

    name.click()
    name.press_sequentially(bad)
    expect(unmet.first).to_be_visible()
    expect(act).to_be_disabled()

    name.fill("")
    name.press_sequentially(good)
    expect(unmet).to_have_count(0)
    expect(page.locator(f".{css}-rules li.vk-met").first).to_be_visible()
    return act


def add_credential(page: Page) -> None:
    add = type_invalid_then_valid(page, "vk-credential", "add", "-bad name", "notebook-token-1")

    token = page.locator(".vk-credential-token input[type=password]")
    token.click()
    token.press_sequentially(TOKEN)
    token.press("Tab")  # the field syncs on blur; the kernel keeps the token and clears it
    expect(token).to_have_value("")

    databases = page.locator(".vk-credential-databases select[multiple]")
    options = databases.locator("option")
    expect(options).not_to_have_count(0)
    labels = [text.strip() for text in options.all_inner_texts()]
    demo = [label for label in labels if label.split()[0] == "demo"]
    assert demo, f"no 'demo' database among the options {labels}"
    databases.select_option(label=demo[0])

    expect(add).to_be_enabled()
    add.click()
    expect(page.locator(".vk-credential-list")).to_contain_text("notebook-token-1")
    expect(token).to_have_value("")
    expect(page.locator(".vk-credential-message .vk-error")).to_have_count(0)


def create_collection(page: Page) -> None:
    create = type_invalid_then_valid(page, "vk-collection", "create", "bad name!",
                                     "browser_docs")
    expect(page.locator(".vk-collection-json pre")).to_contain_text('"browser_docs"')
    rules = page.locator(".vk-collection-rules li.vk-rule")
    assert rules.count() == page.locator(".vk-collection-rules li.vk-met").count() == 3

    expect(create).to_be_enabled()
    create.click()
    expect(page.locator(".vk-collection-message .vk-ok")).to_be_visible()
    expect(page.locator(".vk-collection-message .vk-error")).to_have_count(0)


def files_containing(root: Path, needle: str, *, skip: tuple[str, ...] = ()) -> list[Path]:
    """The files under ``root`` (not named in ``skip``) whose bytes contain ``needle``."""
    return [path for path in sorted(root.rglob("*"))
            if path.is_file() and path.name not in skip
            and needle.encode() in path.read_bytes()]


def test_credentials_and_collection_form_in_jupyterlab(chromium, lab, output_dir, tmp_path):
    workspace = tmp_path / "workspace"
    notebook = write_notebook(lab.root / "test.ipynb", notebook_cells(workspace))

    with (new_page(chromium, lab) as page,
          screenshot_on_failure(page, output_dir / "browser-widgets-failure.png")):
        open_notebook(page, lab, notebook.name)
        run_all_cells(page)
        for css in ("vk-credential-name", "vk-credential-add", "vk-collection-name",
                    "vk-collection-create"):
            expect(page.locator(f".{css}")).to_be_visible(timeout=KERNEL_TIMEOUT_MS)

        add_credential(page)
        create_collection(page)
        assert_no_error_outputs(page)
        screenshot_notebook(page, output_dir / "browser-widgets.png")

        saved = save_notebook(page, notebook)
    # the page is closed and the kernel shut down: it gives the workspace back

    text = notebook.read_text(encoding="utf-8")
    assert TOKEN not in text, "the token was saved into the notebook"
    state = saved["metadata"].get("widgets", {}).get(WIDGET_STATE)
    assert state and state.get("state"), f"no widget state saved: {saved['metadata']}"
    token_fields = [model["state"] for model in state["state"].values()
                    if "vk-credential-token" in model["state"].get("_dom_classes", ())]
    # (ipywidgets 8 leaves a Password's value out of the saved state altogether)
    assert [field.get("value", "") for field in token_fields] == [""], token_fields
    # nor anywhere else JupyterLab wrote (checkpoints, settings, its log)
    assert files_containing(lab.base, TOKEN) == []

    # the workspace, seen from outside the browser and the kernel
    assert lab.api("GET", "/api/kernels") == []
    ws = vk.Workspace(str(workspace))
    try:
        db = ws.get_database("demo")
        assert db.list_collection_names() == ["browser_docs"]
        (credential,) = ws.integrations.list_credentials("huggingface")
        assert credential.name == "notebook-token-1"
        assert credential.databases == (db.id,)
    finally:
        ws.close()
    assert TOKEN in (workspace / "secrets.json").read_text(), "the typed token was not kept"
    assert files_containing(workspace, TOKEN, skip=("secrets.json",)) == []
