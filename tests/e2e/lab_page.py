"""What a learner does with a notebook in JupyterLab, as Playwright steps, and what the test checks.

``check_notebook`` opens a notebook, clears its stored outputs and runs every cell from the
Run menu; no cell may show a traceback and every ipympl figure must show a picture. Then it
finds the notebook's first live control, changes it as a user would (a slider: PageUp from the
keyboard; if that small move changes no pixel, End, to the far end of the range), and compares
screenshots of the figure before and after. The figure's pixels must change, or at least the
text the kernel writes next to it (a panel's message line): that proves the callback ran. No
error may appear in a cell, in JupyterLab's log console (where a callback's traceback goes) or
in the browser console. Every step has a time limit and fails with a ``NotebookProblem`` that
says what went wrong and where.

Which control: the first ipywidgets control (a slider, else a dropdown, checkbox or toggle
buttons) displayed in the same output as an ipympl figure, which is what
``mbp_teach.panels.base.Panel`` displays. A notebook with no such pair fails: every lesson has a live
control, and a control with no figure next to it cannot be checked by what it changes.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

# Console errors that are not faults of a notebook: (regex, why it is benign). Only what was
# seen here is listed; anything else fails the test. Warnings and info lines are not checked
# (JupyterLab logs e.g. "Disabling terminals plugin" as a warning: terminals are off on purpose).
BENIGN_CONSOLE = [
    (r"Error setting state: Failed to execute 'drawImage' on 'CanvasRenderingContext2D': "
     r"The HTMLImageElement provided is in the 'broken' state",
     "ipympl redraws its offscreen image when a figure's size arrives before the figure's first picture "
     "(seen once in three runs of notebook 04); the next picture replaces it, and wait_for_figures() "
     "fails any figure that stays empty"),
]

STDERR = 'application/vnd.jupyter.stderr'
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b", re.M)


class NotebookProblem(AssertionError):
    """The notebook failed in the browser; the message says where and why."""


@dataclass
class Result:
    """What one notebook did in the browser (the test prints it and asserts on it)."""

    name: str
    run_seconds: float = 0.0
    control: str = ""
    control_cell: int = -1
    value_before: str = ""
    value_after: str = ""
    changed_pixels: int = 0
    ink_before: int = 0
    ink_after: int = 0
    text_changed: bool = False
    total_pixels: int = 0
    redraw_seconds: float = 0.0
    before_png: bytes = b""
    after_png: bytes = b""
    stderr_notes: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    console_ignored: list[str] = field(default_factory=list)


def is_benign(text: str) -> bool:
    return any(re.search(rx, text) for rx, _why in BENIGN_CONSOLE)


def code_cells(path: Path) -> list[str]:
    """Sources of the notebook's code cells, in order (what the page should show as code cells)."""
    cells = json.loads(Path(path).read_text())["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]


def n_cells(path: Path) -> int:
    return len(json.loads(Path(path).read_text())["cells"])


class ConsoleWatch:
    """Collects console errors and uncaught page errors, minus the benign ones."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.ignored: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        text = f"{msg.text} ({msg.location.get('url', '')})" if msg.location else msg.text
        (self.ignored if is_benign(text) else self.errors).append(text)


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------

def open_notebook(page, url: str, path: Path, timeout: float) -> None:
    """Load JupyterLab with the notebook and wait until all its cells are shown and the kernel is idle."""
    page.goto(url, timeout=timeout * 1000)
    expected = n_cells(path)
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length === n",
            arg=expected, timeout=timeout * 1000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout * 1000)
    except Exception as exc:
        shown = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").count()
        raise NotebookProblem(f"{path.name}: JupyterLab did not show the notebook with an idle kernel within "
                              f"{timeout:.0f} s ({shown} of {expected} cells shown): {exc}") from None


def menu(page, top: str, item: str) -> None:
    """Open a menu of the menu bar and click one of its items once it is enabled."""
    page.get_by_role("menuitem", name=top, exact=True).click()
    entry = page.locator(".lm-Menu .lm-Menu-item:not(.lm-mod-disabled)").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")))
    entry.first.click()


def fail_on_dialog(page, path: Path) -> None:
    """A modal dialog (a dead kernel, a missing kernel) blocks every click: report its text."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise NotebookProblem(f"{path.name}: JupyterLab shows a dialog: {dialog.first.inner_text()!r}")


def prompts(page) -> list[str]:
    return page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()


def run_all(page, path: Path, timeout: float) -> float:
    """Clear stored outputs, Run > Run All Cells, wait for the last cell; returns the seconds taken.

    Stored outputs are cleared first so that nothing checked later comes from the file: every
    figure, control and error on the page afterwards was made by this run.
    """
    sources = code_cells(path)
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]"
                           ".every(p => !/\\d/.test(p.textContent))", timeout=30_000)
    todo = [i for i, s in enumerate(sources) if s.strip()]
    start = time.monotonic()
    for _attempt in range(3):
        # A click that lands while JupyterLab is still wiring the kernel is lost: every cell
        # then stays "[ ]". Seen under load; clicking again is safe since nothing was queued.
        menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]"
                                   ".some(p => /[*\\d]/.test(p.textContent))", timeout=15_000)
            break
        except Exception:
            fail_on_dialog(page, path)
            page.keyboard.press("Escape")
    else:
        raise NotebookProblem(f"{path.name}: Run > Run All Cells started no cell (three clicks)")
    while True:
        shown = [p.strip() for p in prompts(page)]
        if len(shown) != len(sources):
            raise NotebookProblem(f"{path.name}: the page shows {len(shown)} code cells, the file has {len(sources)}")
        fail_on_dialog(page, path)
        running = [i for i in todo if "*" in shown[i]]
        done = all(re.search(r"\d", shown[i]) for i in todo)
        if not running and (done or error_outputs(page)):
            break
        if time.monotonic() - start > timeout:
            where = running[0] if running else next(i for i in todo if not re.search(r"\d", shown[i]))
            first = sources[where].strip().splitlines()[0][:80]
            raise NotebookProblem(f"{path.name}: Run All Cells did not finish within {timeout:.0f} s; "
                                  f"code cell {where} ({first!r}) is {'still running' if running else 'not run'}")
        time.sleep(0.5)
    elapsed = time.monotonic() - start
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    errors = error_outputs(page)
    if errors:
        cell, text = errors[0]
        raise NotebookProblem(f"{path.name}: code cell {cell} shows an error in the browser:\n{text[-1500:]}")
    not_run = [i for i in todo if not re.search(r"\d", shown[i])]
    if not_run:
        raise NotebookProblem(f"{path.name}: code cells {not_run} were not run")
    return elapsed


def _outputs(page) -> list[dict]:
    """Every output on the page: its code cell's index, mime type and text."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].flatMap((cell, i) =>
               [...cell.querySelectorAll('.jp-OutputArea-output')].map(o =>
                   ({cell: i, mime: o.dataset.mimeType || '', text: o.innerText})))""")


def error_outputs(page) -> list[tuple[int, str]]:
    """(cell, text) of each error shown in an output: tracebacks, and widgets that failed to render."""
    found = []
    for o in _outputs(page):
        if o["mime"] == STDERR and ERROR_TEXT.search(o["text"]):
            found.append((o["cell"], o["text"]))
        elif "Error displaying widget" in o["text"] or "Error rendering" in o["text"]:
            found.append((o["cell"], o["text"]))
    return found


def blank_figures(page) -> list[int]:
    """Code cells with an ipympl figure whose canvas has not a single drawn pixel."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].flatMap((cell, i) =>
               [...cell.querySelectorAll('.jupyter-matplotlib-canvas-div canvas:first-child')].filter(c => {
                   if (!c.width || !c.height) return true;
                   const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   for (let k = 3; k < px.length; k += 4) if (px[k] !== 0) return false;
                   return true;
               }).map(() => i))""")


def wait_for_figures(page, path: Path, timeout: float) -> None:
    """Every ipympl figure on the page shows a picture (an empty canvas is a figure that never arrived)."""
    deadline = time.monotonic() + timeout
    while blank := blank_figures(page):
        if time.monotonic() > deadline:
            raise NotebookProblem(f"{path.name}: the ipympl figure(s) in code cell(s) {sorted(set(blank))} stay blank "
                                  f"{timeout:.0f} s after the run (is the jupyter-matplotlib extension working?)")
        time.sleep(0.5)


def stderr_notes(page) -> list[str]:
    """Other stderr output (warnings): reported, not failed, since strict nbval already rejects them."""
    return [f"cell {o['cell']}: {o['text'][:200]}" for o in _outputs(page)
            if o["mime"] == STDERR and not ERROR_TEXT.search(o["text"])]


# Controls a user can change, in order of preference within one output (sliders first).
CONTROLS = [".widget-slider .noUi-handle", ".widget-dropdown select", ".widget-checkbox input", ".widget-toggle-buttons"]


def find_control(page, path: Path) -> tuple[int, str]:
    """Tag the first control displayed together with an ipympl figure; returns (cell, kind).

    The control gets ``data-e2e="control"`` and the figure's canvas ``data-e2e="figure"``.
    """
    found = page.evaluate(
        """sel => {
            const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
            let loose = null, figureOnly = null;
            for (const [i, cell] of cells.entries()) {
                for (const out of cell.querySelectorAll('.jp-OutputArea-output')) {
                    const fig = out.querySelector('.jupyter-matplotlib-canvas-div');
                    const ctl = sel.map(one => out.querySelector(one)).find(c => c) || null;
                    if (fig && ctl) {
                        fig.setAttribute('data-e2e', 'figure');
                        ctl.setAttribute('data-e2e', 'control');
                        const box = ctl.closest('.widget-slider, .widget-dropdown, .widget-checkbox, .widget-toggle-buttons');
                        const label = box && box.querySelector('.widget-label');
                        const kind = box ? box.className.match(/widget-(slider|dropdown|checkbox|toggle-buttons)/)[1] : 'control';
                        return {cell: i, kind,
                                label: label ? label.innerText : ''};
                    }
                    if (ctl && loose === null) loose = i;
                    if (fig && figureOnly === null) figureOnly = i;
                }
            }
            return {loose, figureOnly};
        }""", CONTROLS)
    if "cell" in found:
        return found["cell"], f"{found['kind']} {found['label']!r}".strip()
    if found["loose"] is not None:
        raise NotebookProblem(
            f"{path.name}: code cell {found['loose']} shows a control but no ipympl figure in the same output, so "
            "its effect cannot be checked; display the control with its figure (mbp_teach.panels.base.Panel.widget())")
    hint = (f" (code cell {found['figureOnly']} shows an ipympl figure without controls)"
            if found["figureOnly"] is not None else " and no ipympl figure (is `%matplotlib widget` the first line?)")
    raise NotebookProblem(f"{path.name}: no live control found: no ipywidgets slider, dropdown, checkbox or "
                          f"toggle buttons in any output{hint}. Every lesson needs one (mbp_teach.panels.base.Panel).")


def figure_png(page) -> bytes:
    return page.locator("[data-e2e='figure']").screenshot(animations="disabled")


def panel_text(page) -> str:
    """Text shown next to the control (a panel's message line), without the controls' own readouts."""
    return page.evaluate(
        """() => { const out = document.querySelector("[data-e2e='figure']").closest('.jp-OutputArea-output').cloneNode(true);
                   out.querySelectorAll('.widget-readout, .widget-label, .jupyter-matplotlib, select, button')
                      .forEach(e => e.remove());
                   return out.innerText.trim(); }""")


def kernel_idle(page) -> bool:
    return page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0


def settle(page, timeout: float, differ_from: tuple[bytes, str] | None = None) -> tuple[tuple[bytes, str], float]:
    """Wait until figure and panel text stop changing with the kernel idle; returns them and the seconds.

    With ``differ_from``, also wait until one of them differs from it. On timeout returns the
    last state; the caller decides whether that is a failure.
    """
    start = time.monotonic()
    last = (figure_png(page), panel_text(page))
    while time.monotonic() - start < timeout:
        time.sleep(0.4)
        now = (figure_png(page), panel_text(page))
        if now == last and kernel_idle(page) and (differ_from is None or now != differ_from):
            return now, time.monotonic() - start
        last = now
    return last, time.monotonic() - start


def control_value(page) -> str:
    return page.evaluate(
        """() => { const c = document.querySelector("[data-e2e='control']");
                   if (c.classList.contains('noUi-handle'))
                       return c.getAttribute('aria-valuetext') || c.getAttribute('aria-valuenow');
                   if (c.tagName === 'SELECT') return c.value;
                   if (c.tagName === 'INPUT') return String(c.checked);
                   const on = c.querySelector('.mod-active'); return on ? on.innerText : ''; }""")


def change_control(page, far: bool = False) -> None:
    """Change the tagged control as a user would: keys for sliders and checkboxes, a choice for lists.

    ``far``: jump to the other end of the range (a slider's Home/End, the last or first option),
    for a first move too small to show.
    """
    ctl = page.locator("[data-e2e='control']")
    ctl.scroll_into_view_if_needed()
    cls = ctl.get_attribute("class") or ""
    tag = ctl.evaluate("c => c.tagName")
    if "noUi-handle" in cls:
        ctl.focus()
        at_max = float(ctl.get_attribute("aria-valuenow")) >= float(ctl.get_attribute("aria-valuemax"))
        if far:
            page.keyboard.press("Home" if at_max else "End")
        else:  # PageUp/PageDown move several steps
            page.keyboard.press("PageDown" if at_max else "PageUp")
    elif tag == "SELECT":
        n, i = ctl.evaluate("s => [s.options.length, s.selectedIndex]")
        j = (0 if i == n - 1 else n - 1) if far else (i - 1 if i == n - 1 else i + 1)
        ctl.select_option(index=j)  # what picking from the opened list does
    elif tag == "INPUT":
        ctl.focus()
        page.keyboard.press("Space")
    else:
        page.locator("[data-e2e='control'] button:not(.mod-active)").last.click()


def log_console_errors(page) -> list[str]:
    """Errors from widget callbacks: JupyterLab routes them to the log console, not to a cell."""
    panel = page.locator(".jp-LogConsolePanel")
    if panel.count() == 0:
        return []
    text = panel.inner_text()
    return [text[-1500:]] if ERROR_TEXT.search(text) else []


def check_notebook(page, url: str, path: Path, *, run_timeout: float, redraw_timeout: float = 60.0) -> Result:
    """The whole check for one notebook; raises ``NotebookProblem`` with a clear message on failure."""
    result = Result(path.name)
    watch = ConsoleWatch(page)
    open_notebook(page, url, path, timeout=120)
    result.run_seconds = run_all(page, path, timeout=run_timeout)
    result.stderr_notes = stderr_notes(page)
    wait_for_figures(page, path, timeout=redraw_timeout)
    result.control_cell, result.control = find_control(page, path)
    where = f"the {result.control} in code cell {result.control_cell}"
    # Widget callbacks that raise print to the log console; open it so its text is on the page.
    menu(page, "View", "Show Log Console")
    page.locator("[data-e2e='figure']").scroll_into_view_if_needed()
    before, _ = settle(page, timeout=redraw_timeout)
    result.value_before = control_value(page)
    moves = []
    for far in (False, True):
        change_control(page, far=far)
        value = control_value(page)
        if value == (moves[-1] if moves else result.value_before):
            raise NotebookProblem(f"{path.name}: {where} did not move under the keyboard (value stays {value!r})")
        moves.append(value)
        after, result.redraw_seconds = settle(page, timeout=redraw_timeout, differ_from=before)
        problems = [f"code cell {c}: {t[-1500:]}" for c, t in error_outputs(page)] + log_console_errors(page)
        if problems:
            raise NotebookProblem(f"{path.name}: after {where} went from {result.value_before} to {value} "
                                  "an error appeared:\n" + "\n".join(problems))
        if after[0] != before[0]:
            break  # the figure responded; a second, larger move is only for a first one too small to show
    result.value_after = " then ".join(moves)
    result.before_png, result.after_png = before[0], after[0]
    result.changed_pixels, result.total_pixels = pixel_change(before[0], after[0])
    result.text_changed = after[1] != before[1]
    result.ink_before, result.ink_after = ink(before[0]), ink(after[0])
    if not keeps_the_picture(result.ink_before, result.ink_after):
        raise NotebookProblem(
            f"{path.name}: after {where} went from {result.value_before} to {result.value_after} the figure "
            f"kept {result.ink_after} of its {result.ink_before} drawn pixels: the axes, labels and unchanged "
            "artists are gone (a blitted frame drawn on an empty background?)")
    if result.changed_pixels == 0 and not result.text_changed:
        raise NotebookProblem(
            f"{path.name}: nothing shown changed within {redraw_timeout:.0f} s after {where} went from "
            f"{result.value_before} to {result.value_after}: the figure did not change, nor the text "
            "(a dead callback, or a figure that is never redrawn: draw_idle?)")
    result.console_errors, result.console_ignored = watch.errors, watch.ignored
    if watch.errors:
        raise NotebookProblem(f"{path.name}: the browser console shows errors:\n" + "\n".join(watch.errors[:10]))
    return result


def pixel_change(before: bytes, after: bytes) -> tuple[int, int]:
    """(number of pixels that differ, number of pixels) between two PNG screenshots."""
    from PIL import Image, ImageChops

    a = Image.open(io.BytesIO(before)).convert("RGB")
    b = Image.open(io.BytesIO(after)).convert("RGB")
    total = a.size[0] * a.size[1]
    if a.size != b.size:
        return total, total
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v else 0)
    return int(diff.histogram()[255]), total


#: A move changes a few artists; the axes, ticks, labels and unchanged artists stay. A frame that keeps
#: less than this share of the drawn pixels has lost its background (what a blit onto an empty canvas shows).
KEEP = 0.4


def ink(png: bytes, paper: int = 200) -> int:
    """How many pixels of a screenshot are drawn: darker than ``paper`` in some channel (the figure is white)."""
    from PIL import Image, ImageChops

    red, green, blue = Image.open(io.BytesIO(png)).convert("RGB").split()
    darkest = ImageChops.darker(ImageChops.darker(red, green), blue)
    return int(darkest.point(lambda v: 255 if v < paper else 0).histogram()[255])


def keeps_the_picture(before: int, after: int) -> bool:
    """The figure after a move still shows most of what it showed before (see ``KEEP``)."""
    return before == 0 or after >= KEEP * before
