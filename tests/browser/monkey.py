"""A monkey test: a seeded random walk over the whole app in a real browser.

Shared by tests/browser/test_monkey.py (a short walk in CI, fixed seed) and
bench/bench_monkey.py (long walks on any seed). ``walk(browser, server, seed, actions)``
clicks buttons, types into inputs (in range, out of range, hostile strings), moves
sliders, picks options, switches pages, goes back and forward, reloads, opens and closes
tabs and browser contexts, and opens presets and hostile URLs. After every action it waits
(bounded) for the app to settle and looks for problems: an exception element on any open
tab, a run whose training failed, an uncaught JS error, a crashed tab, and new problems in
the server's stderr (an exception in a fragment or a worker thread shows only there).

Replaying: every choice comes from ``random.Random(seed)`` and never from timing. Each
action draws exactly two numbers from it (its kind and a seed for its details), so the
sequence of action kinds is a function of the seed alone; which element an action hits
can still depend on what the page shows at that moment (a run that has finished shows
other buttons than one still training).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import random
import time
from urllib.parse import quote, urlparse

from playwright.sync_api import Error as PlaywrightError

from rnn_core.config import field_names
from rnn_core.presets import PRESETS, RACE_PRESETS

READY = "[data-testid=stApp][data-test-script-state=notRunning]"
VIEWPORT = {"width": 1280, "height": 800}
MAX_TABS = 3  # open tabs over every context; each is a Streamlit session with its own runs
ACTION_TIMEOUT_MS = 3_000  # one click or keystroke; an element gone by then is skipped
NAVIGATION_TIMEOUT_MS = 20_000
LAST_ACTIONS = 10  # shown with a problem

# The server a walk runs against (tests/browser/test_monkey.py, bench/bench_monkey.py: the
# same, so a failure replays). Small limits keep a walk bounded: at most two runs train
# at once (the rest queue), a run stops at 300 steps, a run no page looks at pauses after
# 5 s (the least the app accepts), and a closed tab's session (and so its runs) ends 2 s
# after it closed.
SERVER_ENV = {
    "RNN_EXPLORER_MAX_JOBS": "2",
    "RNN_EXPLORER_STEP_CAP": "300",
    "RNN_EXPLORER_IDLE_SECONDS": "5",
}
SERVER_ARGS = ("--server.disconnectedSessionTTL", "2")

# Path -> weight for page switches: the pages that probe a live model (Hidden states,
# Inside a cell) weigh more, so they are often open while a run trains.
PAGE_WEIGHTS = {
    "": 1.0,
    "playground": 2.0,
    "hidden_states": 2.5,
    "gradients": 2.0,
    "inside_cell": 2.5,
    "cnn_vs_rnn": 1.5,
    # The applications: each reads the run on a visitor's own input when it is on its
    # task, and explains itself with a preset button otherwise.
    "translation": 1.0,
    "speech": 1.0,
    "sentiment": 1.0,
    "series": 1.0,
    "captions": 1.0,
}
RUN_PAGES = ("", "playground", "hidden_states", "gradients", "inside_cell")

# Kind -> weight. "train" (Start/Pause, Step, Reset) weighs most, so runs are live while
# the other actions happen.
ACTIONS = {
    "train": 16,
    "button": 12,
    "number": 9,
    "text": 4,
    "slider": 5,
    "check": 4,
    "select": 6,
    "choice": 4,  # tabs, radio options, segmented controls, expanders
    "nav": 10,
    "preset_url": 4,
    "hostile_url": 4,
    "back": 3,
    "forward": 2,
    "reload": 3,
    "new_tab": 3,
    "close_tab": 2,
    "switch_tab": 2,
    "new_context": 1,
    "plotly": 2,
    "wait": 3,
}

HOSTILE = (
    "1e309", "-1e309", "-0", "NaN", "nan", "inf", "-inf", "Infinity", "-1", "0", "1e-30",
    "99999999999999999999999", "0x10", "1,5", "1.5.5", "--1", "+7", " 42 ", "",
    "'; DROP TABLE runs; --", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
    "${7*7}", "{{7*7}}", "../../etc/passwd", "%00", "%s%s%s", "null", "None", "[]", "{}",
    "１２３", "٣", "Ω≈ç√∫", "💥🔥", "\u202eRTL", "a" * 5000, "9" * 400,
)  # fmt: skip
URL_KEYS = (*field_names(), "preset", "compare", "models", "foo", "__proto__", "seq_len[]")


@dataclasses.dataclass
class Action:
    index: int
    kind: str
    tab: str  # which tab, and the page it was on
    detail: str = ""

    def __str__(self) -> str:
        return f"#{self.index} [{self.tab}] {self.kind}: {self.detail}"


@dataclasses.dataclass
class Problem:
    index: int  # the action after which it was seen
    what: str  # "page exception", "run failed", "js error", "tab crashed", "server log"
    detail: str
    last_actions: list[str]

    def __str__(self) -> str:
        actions = "\n".join(f"    {a}" for a in self.last_actions)
        return (
            f"after action #{self.index}: {self.what}\n"
            f"  {self.detail.strip()[:3000]}\n  last actions:\n{actions}"
        )


@dataclasses.dataclass
class WalkResult:
    seed: int
    planned: int
    actions: list[Action] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    kinds: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    pages: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    skipped: int = 0  # actions that found nothing to act on, or whose element went away
    unsettled: int = 0  # actions after which the app was still running at the timeout
    elapsed: float = 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in self.kinds.most_common())
        pages = ", ".join(f"/{p} {n}" for p, n in self.pages.most_common())
        return (
            f"seed {self.seed}: {len(self.actions)} of {self.planned} actions in "
            f"{self.elapsed:.0f} s ({self.elapsed / max(1, len(self.actions)):.2f} s each); "
            f"{self.skipped} skipped, {self.unsettled} not settled in time; "
            f"{len(self.problems)} problem(s)\n  actions: {kinds}\n  pages (after each "
            f"action): {pages}"
        )

    def failure_message(self) -> str:
        shown = "\n\n".join(str(p) for p in self.problems[:5])
        more = len(self.problems) - 5
        return (
            f"monkey walk, seed {self.seed}: {len(self.problems)} problem(s)\n\n{shown}"
            + (f"\n\n... and {more} more" if more > 0 else "")
            + f"\n\nreplay: python3 bench/bench_monkey.py --seed {self.seed} "
            f"--actions {self.problems[0].index + 1 if self.problems else self.planned}"
        )


# Tags the visible, enabled elements matching a selector with data-monkey="i" and returns
# a short description of each. Streamlit's own header (menu, toolbar) is not the app.
_TAG = """(sel) => {
  document.querySelectorAll('[data-monkey]').forEach((e) => e.removeAttribute('data-monkey'));
  const out = [];
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || r.right <= 0 || r.left >= window.innerWidth) continue;
    // hidden by CSS: a collapsed expander's content, a button shown only on hover
    if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    if (el.disabled || el.getAttribute('aria-disabled') === 'true') continue;
    if (el.closest('[data-disabled=true]')) continue;
    if (el.closest('[data-testid=stHeader]')
        && !el.closest('[data-testid=stExpandSidebarButton]')) continue;
    if (el.closest('[data-testid=stWidgetLabel]')) continue;
    el.setAttribute('data-monkey', String(out.length));
    const holder = el.closest('[class*="st-key-"]');
    const key = holder ? [...holder.classList].find((c) => c.startsWith('st-key-')) : '';
    const text = el.getAttribute('aria-label') || el.innerText || el.textContent || '';
    out.push({label: text.trim().replace(/\\s+/g, ' ').slice(0, 40),
              key: key ? key.slice(7) : '', min: el.getAttribute('min'),
              max: el.getAttribute('max'), step: el.getAttribute('step')});
  }
  return out;
}"""

# The exception elements not reported yet, marked as reported. Every exception element
# reads the same with client.showErrorDetails = "none" (.streamlit/config.toml), so they
# are told apart by element: a rerun that fails again draws a new one.
_NEW_EXCEPTIONS = """() => {
  const fresh = [...document.querySelectorAll('[data-testid=stException]')]
    .filter((e) => !e.hasAttribute('data-monkey-seen'));
  fresh.forEach((e) => e.setAttribute('data-monkey-seen', ''));
  return fresh.map((e) => e.innerText);
}"""

SELECTORS = {
    "train": ".st-key-train_toggle button, .st-key-train_step button, .st-key-train_reset button",
    "button": "[data-testid=stMain] button, [data-testid=stSidebar] button, "
    "[data-testid=stExpandSidebarButton], [role=dialog] button",
    "number": "[data-testid=stNumberInputField]",
    "text": "input[role=combobox], [data-testid=stTextInput] input, textarea",
    "slider": "[data-testid=stSlider] input[type=range]",
    "check": "[data-testid=stCheckbox] label",
    "select": "[data-testid=stSelectbox] input[role=combobox], "
    "[data-testid=stMultiSelect] input[role=combobox]",
    "choice": "[role=tab], [data-testid=stRadio] label, [data-testid=stButtonGroup] button, "
    "[data-testid=stExpander] summary",
    "plotly": "[data-testid=stMain] .updatemenu-button",
    "nav": "[data-testid=stSidebarNav] a",
    "options": "[role=option]",
}


class _Tab:
    """One open tab: its page and what was already reported from it."""

    def __init__(self, name: str, context, page):
        self.name, self.context, self.page = name, context, page
        self.js_errors: list[str] = []
        self.crashed = False
        self.reported: set[str] = set()  # "Training failed" texts already reported
        page.on("pageerror", lambda exc: self.js_errors.append(str(exc)))
        page.on("crash", lambda _page: setattr(self, "crashed", True))
        page.set_default_timeout(ACTION_TIMEOUT_MS)
        page.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)

    @property
    def path(self) -> str:
        try:
            return urlparse(self.page.url).path.strip("/")
        except PlaywrightError:
            return "?"


class Walker:
    def __init__(self, browser, server, seed: int, actions: int, *, stop_on_problem: bool,
                 settle_s: float, progress=None):  # fmt: skip
        self.browser, self.server = browser, server
        self.rng = random.Random(seed)
        self.result = WalkResult(seed=seed, planned=actions)
        self.stop_on_problem = stop_on_problem
        self.settle_ms = settle_s * 1000
        self.progress = progress
        self.tabs: list[_Tab] = []
        self.current: _Tab | None = None
        self.contexts: list = []
        self._names = 0

    # ------------------------------------------------------------------ tabs
    def _open_tab(self, context, url: str) -> _Tab:
        self._names += 1
        tab = _Tab(f"t{self._names}", context, context.new_page())
        self.tabs.append(tab)
        self.current = tab
        self._goto(tab, url)
        return tab

    def _new_context(self, url: str) -> _Tab:
        context = self.browser.new_context(viewport=VIEWPORT)
        self.contexts.append(context)
        return self._open_tab(context, url)

    def _close_tab(self, tab: _Tab) -> None:
        self.tabs.remove(tab)
        with contextlib.suppress(PlaywrightError):
            tab.page.close()
        if not tab.context.pages:  # its last tab: the context goes too
            with contextlib.suppress(PlaywrightError):
                tab.context.close()
            self.contexts.remove(tab.context)
        if self.current is tab:
            self.current = self.tabs[-1] if self.tabs else None

    def _make_room(self, sub: random.Random) -> str:
        if len(self.tabs) < MAX_TABS:
            return ""
        victim = self.tabs[sub.randrange(len(self.tabs))]
        self._close_tab(victim)
        return f"closed {victim.name} first (at {MAX_TABS} tabs); "

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(PlaywrightError):
                context.close()
        self.contexts, self.tabs, self.current = [], [], None

    # ------------------------------------------------------------------ helpers
    def _goto(self, tab: _Tab, url: str) -> None:
        try:
            tab.page.goto(url, wait_until="domcontentloaded")
        except PlaywrightError as err:
            raise _SkippedError(f"navigation did not finish: {_first_line(err)}") from None

    def _tagged(self, kind: str) -> list[dict]:
        return self.current.page.evaluate(_TAG, SELECTORS[kind])

    def _pick(self, kind: str, sub: random.Random) -> tuple[object, dict]:
        found = self._tagged(kind)
        if not found:
            raise _SkippedError(f"no {kind} element on /{self.current.path}")
        i = sub.randrange(len(found))
        return self.current.page.locator(f'[data-monkey="{i}"]').first, found[i]

    def _url(self, path: str, query: str = "") -> str:
        return f"{self.server}/{path}" + (f"?{query}" if query else "")

    def _preset_url(self, sub: random.Random) -> str:
        names = [*PRESETS, *RACE_PRESETS]
        name = names[sub.randrange(len(names))]
        path = "cnn_vs_rnn" if name in RACE_PRESETS else sub.choice(RUN_PAGES)
        return self._url(path, f"preset={name}")

    def _hostile_url(self, sub: random.Random) -> str:
        path = sub.choice([*PAGE_WEIGHTS, "no_such_page", "playground/extra"])
        parts = []
        for _ in range(sub.randint(1, 5)):
            key = sub.choice(URL_KEYS)
            value = sub.choice(
                [*HOSTILE, "lstm", "gru,lstm,gru,lstm,tcn", "tcn,tcn,cnn2d,transformer,x",
                 "copy_memory", "char_lm", "none", "vanishing", "race_copy", "0", "2000",
                 "256", "4", "-5", "1e400", "nan"]
            )  # fmt: skip
            raw = sub.random() < 0.2  # sometimes not percent-encoded at all
            value = value[:2000]
            parts.append(f"{key}={value if raw else quote(value, safe='')}")
        return self._url(path, "&".join(parts))

    # ------------------------------------------------------------------ the actions
    def act(self, kind: str, sub: random.Random) -> str:
        page = self.current.page
        if kind == "train":
            keys = ("train_toggle", "train_toggle", "train_step", "train_step", "train_reset")
            key = keys[sub.randrange(len(keys))]
            button = page.locator(f".st-key-{key} button").first
            if not button.count() or not button.is_visible():
                raise _SkippedError(f"no {key} on /{self.current.path}")
            label = button.inner_text().split("\n")[-1]
            button.click()
            return f"{key} ({label})"
        if kind in ("button", "check", "choice", "plotly"):
            element, info = self._pick(kind, sub)
            element.click()
            return _describe(info)
        if kind == "number":
            element, info = self._pick(kind, sub)
            value = _number_text(info, sub)
            element.click()
            element.press("ControlOrMeta+a")
            try:
                element.fill(value)
            except PlaywrightError:  # not a number to the browser: type it key by key
                element.press_sequentially(value[:60])
            element.press(sub.choice(["Enter", "Enter", "Tab"]))
            return f"{_describe(info)} <- {_show(value)}"
        if kind == "text":
            element, info = self._pick(kind, sub)
            value = sub.choice(HOSTILE) if sub.random() < 0.7 else sub.choice(
                ["lstm", "GRU", "copy", "adam", "tanh", "digits"])  # fmt: skip
            element.click()
            if len(value) > 60:
                page.keyboard.insert_text(value)
            else:
                element.press_sequentially(value)
            key = sub.choice(["Enter", "Escape", "Tab"])
            page.keyboard.press(key)
            return f"{_describe(info)} <- {_show(value)} + {key}"
        if kind == "slider":
            element, info = self._pick(kind, sub)
            key = sub.choice(["ArrowRight", "ArrowLeft", "PageUp", "PageDown", "Home", "End"])
            times = sub.randint(1, 5)
            element.focus()
            for _ in range(times):
                element.press(key)
            return f"{_describe(info)} {key} x{times}"
        if kind == "select":
            element, info = self._pick(kind, sub)
            element.click()
            try:
                page.locator(SELECTORS["options"]).first.wait_for(timeout=2_000)
            except PlaywrightError:
                page.keyboard.press("Escape")
                raise _SkippedError(f"{_describe(info)}: no options opened") from None
            options = self._tagged("options")
            if not options:
                page.keyboard.press("Escape")
                raise _SkippedError(f"{_describe(info)}: no visible option")
            i = sub.randrange(len(options))
            page.locator(f'[data-monkey="{i}"]').first.click()
            page.keyboard.press("Escape")
            return f"{_describe(info)} -> {options[i]['label']!r}"
        if kind == "nav":
            paths = list(PAGE_WEIGHTS)
            path = sub.choices(paths, weights=[PAGE_WEIGHTS[p] for p in paths])[0]
            link = page.locator(f'[data-testid=stSidebarNav] a[href="{self._url(path)}"]').first
            note = ""
            if not _in_view(link):  # the sidebar is collapsed (slid off the page)
                expand = page.locator("[data-testid=stExpandSidebarButton]")
                if not expand.count():
                    raise _SkippedError("no sidebar navigation and no button to open it")
                expand.first.click()
                deadline = time.monotonic() + ACTION_TIMEOUT_MS / 1000
                while not _in_view(link) and time.monotonic() < deadline:
                    time.sleep(0.1)
                note = "opened the sidebar; "
            link.click()
            return f"{note}sidebar -> /{path}"
        if kind == "preset_url":
            url = self._preset_url(sub)
            self._goto(self.current, url)
            return url.removeprefix(self.server)
        if kind == "hostile_url":
            url = self._hostile_url(sub)
            self._goto(self.current, url)
            return _show(url.removeprefix(self.server))
        if kind in ("back", "forward"):
            try:
                (page.go_back if kind == "back" else page.go_forward)(wait_until="commit")
                if not page.url.startswith(self.server):
                    # back past a new tab's first page (about:blank): not the app any more
                    page.go_forward(wait_until="commit")
                    return "left the app (the tab's first page); forward again"
            except PlaywrightError as err:
                raise _SkippedError(f"{kind}: {_first_line(err)}") from None
            return f"now /{self.current.path}"
        if kind == "reload":
            try:
                page.reload(wait_until="domcontentloaded")
            except PlaywrightError as err:
                raise _SkippedError(f"reload: {_first_line(err)}") from None
            return f"/{self.current.path}"
        if kind == "new_tab":
            note = self._make_room(sub)
            url = page.url if not page.is_closed() else self._url("")
            context = self.current.context if self.current in self.tabs else None
            tab = self._new_context(url) if context is None else self._open_tab(context, url)
            return f"{note}{tab.name} <- {_show(url.removeprefix(self.server))}"
        if kind == "close_tab":
            if len(self.tabs) < 2:
                raise _SkippedError("only one tab open")
            victim = self.tabs[sub.randrange(len(self.tabs))]
            self._close_tab(victim)
            return f"closed {victim.name}; now on {self.current.name}"
        if kind == "switch_tab":
            if len(self.tabs) < 2:
                raise _SkippedError("only one tab open")
            others = [t for t in self.tabs if t is not self.current]
            self.current = others[sub.randrange(len(others))]
            self.current.page.bring_to_front()
            return f"-> {self.current.name} /{self.current.path}"
        if kind == "new_context":
            note = self._make_room(sub)
            url = self._preset_url(sub) if sub.random() < 0.5 else self._url("")
            tab = self._new_context(url)
            return f"{note}{tab.name} <- {url.removeprefix(self.server)}"
        if kind == "wait":
            seconds = sub.uniform(0.5, 2.0)
            time.sleep(seconds)
            return f"{seconds:.1f} s"
        raise ValueError(kind)

    # ------------------------------------------------------------------ checks
    def settle(self) -> bool:
        """Wait (bounded) until the current tab's script run is over; False at the timeout."""
        time.sleep(0.15)  # let a click's rerun begin before looking for "not running"
        try:
            self.current.page.wait_for_selector(READY, timeout=self.settle_ms)
            return True
        except PlaywrightError:
            # Live fragments rerun every half second, and a heavy page can take longer:
            # not settling is not a failure by itself (the checks below still run).
            self.result.unsettled += 1
            return False

    def check(self, index: int) -> list[Problem]:
        last = [str(a) for a in self.result.actions[-LAST_ACTIONS:]]
        found = []
        logged = self.server.new_problems()
        if logged and self.current is not None:
            # The server can be ahead of the page: on a loaded machine a click's rerun had
            # logged its traceback while the page still showed the run before it (seen
            # under two test workers). Give the page the time to show it too.
            time.sleep(1.0)
            self.settle()
        for tab in list(self.tabs):
            if tab.crashed:
                found.append(Problem(index, "tab crashed", f"{tab.name} /{tab.path}", last))
                self._close_tab(tab)
                continue
            while tab.js_errors:
                found.append(Problem(index, "js error", f"{tab.name}: {tab.js_errors.pop(0)}",
                                     last))  # fmt: skip
            try:
                exceptions = tab.page.evaluate(_NEW_EXCEPTIONS)
                # A run whose trainer raised: the job catches it (so the server logs
                # nothing) and the page says "Training failed" (ui.controls.status_line).
                failed = tab.page.locator(
                    "[data-testid=stAlert]", has_text="Training failed"
                ).all_inner_texts()
            except PlaywrightError:
                continue  # the tab is navigating; its next check will see it
            for text in exceptions:
                found.append(Problem(index, "page exception", f"{tab.name} /{tab.path}: {text}",
                                     last))  # fmt: skip
            for text in failed:
                if text not in tab.reported:
                    tab.reported.add(text)
                    found.append(Problem(index, "run failed", f"{tab.name} /{tab.path}: {text}",
                                         last))  # fmt: skip
        for problem in logged + self.server.new_problems():
            found.append(Problem(index, "server log", problem, last))
        return found

    def _back_to_the_app(self) -> str:
        """A tab that shows no app (a new tab's blank first page; a link nested under a
        page's path, where Streamlit serves its page but not its scripts) opens the app
        again, so the walk goes on. Not a choice: no random draw."""
        page = self.current.page
        try:
            if page.url.startswith(self.server) and page.locator("[data-testid=stApp]").count():
                return ""
        except PlaywrightError:
            return ""
        shown = _show(page.url.removeprefix(self.server))
        self._goto(self.current, self._url(""))
        self.settle()
        return f"(the tab showed no app at {shown}: opened /) "

    # ------------------------------------------------------------------ the walk
    def run(self) -> WalkResult:
        result = self.result
        start = time.monotonic()
        kinds, weights = list(ACTIONS), list(ACTIONS.values())
        try:
            self._new_context(self._url(""))
            self.settle()
            for index in range(result.planned):
                kind = self.rng.choices(kinds, weights=weights)[0]
                sub = random.Random(self.rng.getrandbits(64))
                if self.current is None:  # every tab closed (or crashed): open one
                    self._new_context(self._url(""))
                action = Action(index, kind, f"{self.current.name} /{self.current.path}")
                try:
                    note = self._back_to_the_app()
                    action.detail = note + self.act(kind, sub)
                except _SkippedError as skip:
                    action.detail, result.skipped = f"skipped: {skip}", result.skipped + 1
                except PlaywrightError as err:  # the element went away mid-action
                    action.detail = f"skipped: {_first_line(err)}"
                    result.skipped += 1
                result.actions.append(action)
                result.kinds[kind] += 1
                if self.current is not None:
                    if not self.settle():
                        action.detail += " (not settled)"
                    result.pages[self.current.path] += 1
                problems = self.check(index)
                result.problems += problems
                if self.progress is not None:
                    self.progress(action, problems)
                if problems and self.stop_on_problem:
                    break
        finally:
            self.close()
            result.elapsed = time.monotonic() - start
        return result


class _SkippedError(Exception):
    """The action found nothing to act on (not a problem)."""


def _in_view(locator) -> bool:
    """On the page's left edge or right of it (a collapsed sidebar slides to the left)."""
    try:
        box = locator.bounding_box(timeout=500) if locator.count() else None
    except PlaywrightError:
        return False
    return box is not None and box["x"] + box["width"] > 0 and box["width"] > 0


def _describe(info: dict) -> str:
    return f"{info['key'] or '-'} {info['label']!r}"


def _show(value: str) -> str:
    return repr(value if len(value) <= 60 else f"{value[:40]}...({len(value)} chars)")


def _first_line(err: Exception) -> str:
    return str(err).strip().split("\n")[0][:120]


def _number_text(info: dict, sub: random.Random) -> str:
    """A value for a number input: in range, out of range, empty or hostile."""
    try:
        lo, hi = float(info["min"]), float(info["max"])
    except (TypeError, ValueError):
        lo, hi = 0.0, 100.0
    integer = info["step"] is not None and float(info["step"] or 1).is_integer()
    roll = sub.random()
    if roll < 0.4:  # in range; the low end more often (small, quick runs)
        value = lo + (hi - lo) * sub.random() ** 3
    elif roll < 0.6:  # just outside or far outside
        value = sub.choice([lo - 1, hi + 1, hi * 10 + 1, -hi, lo - 1e6])
    elif roll < 0.7:
        return ""
    else:
        return sub.choice(HOSTILE)
    return str(int(round(value))) if integer else f"{value:.6g}"


def walk(browser, server, seed: int, actions: int, *, stop_on_problem: bool = True,
         settle_s: float = 5.0, progress=None) -> WalkResult:  # fmt: skip
    """Walk ``actions`` random actions over the app at ``server`` (an appserver.AppServer)
    and return what happened. With ``stop_on_problem`` the walk ends at the first action
    after which a problem was seen. Every tab and context it opened is closed at the end;
    stopping the server and reading the rest of its log is the caller's part."""
    return Walker(browser, server, seed, actions, stop_on_problem=stop_on_problem,
                  settle_s=settle_s, progress=progress).run()  # fmt: skip
