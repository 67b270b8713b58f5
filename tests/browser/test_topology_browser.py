"""The site past one machine, in a real browser: nginx in front of two app replicas, runs
on a two-node Ray cluster, one run store (``deploy/local_topology.py``).

One test walks the whole story, since each step needs the state the last one left:
sessions land on both replicas; two sessions on one configuration, on different replicas,
watch and drive one actor; the Ray node that trains it dies mid-run and the run goes on;
the replica of one session dies and its reload on the other replica brings the run back.
No step of history is lost: every point a page draws is the uninterrupted run's.
"""

from __future__ import annotations

import http.cookiejar
import urllib.request

import numpy as np
import pytest

from deploy.local_topology import LocalTopology
from rnn_core.config import RunConfig
from rnn_core.ray_actors import BOARD_NAME
from rnn_core.train import Trainer
from tests.browser.appserver import log_problems
from tests.browser.pagetools import chart_script, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.cluster]

NAMESPACE = "browser-topology"
STEP_CAP = 400
# About 25 steps a second on one core: slow enough to kill a node mid-run, and a run no
# other test opens.
SETTINGS = {"hidden_size": 64, "seq_len": 200, "batch_size": 64, "seed": 2718}
LINK = "playground?" + "&".join(f"{k}={v}" for k, v in SETTINGS.items())
HOVER0 = chart_script("return el && el.data && el.data.length ? el.data[0].hovertemplate : null;")
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
WATCHING = "2 people are watching this run"
TRACE0 = chart_script("""
  if (!el || !el.data || !el.data.length) return null;
  return {x: decode(el.data[0].x), y: decode(el.data[0].y)};""")


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    env = {
        "RNN_EXPLORER_STEP_CAP": str(STEP_CAP),
        "RNN_EXPLORER_KEEP_EVERY": "50",  # a failed node's run redoes at most 50 steps
    }
    # Its own short temporary folder (RNNX_KEEP_WORKDIR=1 keeps it, logs included): Ray's
    # sockets live under it, and a socket path is limited to 107 bytes.
    with LocalTopology(replicas=2, ray_nodes=2, namespace=NAMESPACE, env=env) as topo:
        yield topo


def _route_cookies(topo) -> dict[str, str]:
    """A route cookie nginx sends to each replica, by the replica's address."""
    routes: dict[str, str] = {}
    for _ in range(40):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(f"{topo.url}/_stcore/health", timeout=10) as response:
            upstream = response.headers["X-Upstream"]
        routes.setdefault(upstream, next(c.value for c in jar if c.name == "rnnx_route"))
        if len(routes) == 2:
            return routes
    raise AssertionError(f"nginx sent 40 fresh sessions to {sorted(routes)} only")


def _served_by(context, topo) -> str:
    return context.request.get(f"{topo.url}/_stcore/health").headers["x-upstream"]


def _curve(page) -> dict[int, float]:
    trace = page.evaluate(TRACE0, "loss_chart")
    return dict(zip(map(int, trace["x"]), trace["y"], strict=True)) if trace else {}


def _last_step(page) -> int:
    return max(_curve(page), default=0)


def _raw_curve(page) -> None:
    """Smoothing off: the chart then draws the loss of each step as recorded."""
    slider = page.locator(".st-key-play-smooth input[type=range]").first
    slider.focus()
    slider.press("Home")
    slider.press("Tab")  # the widget sends its value when it loses the focus
    wait_for(lambda: "smoothed" not in (page.evaluate(HOVER0, "loss_chart") or "smoothed"))


def _toggle(page):
    return page.locator(".st-key-train_toggle button").first


def _uninterrupted_losses(steps: int) -> np.ndarray:
    trainer = Trainer(RunConfig.from_query({k: str(v) for k, v in SETTINGS.items()}))
    trainer.step(steps)
    return trainer.history["loss"].to_numpy()


def _assert_points_of_the_run(points: dict[int, float], reference: np.ndarray) -> None:
    """Every point drawn is the uninterrupted run's loss at that step (float32 on the
    wire), and none is missing up to the last."""
    assert points, "no curve drawn"
    steps = sorted(points)
    assert steps[-1] <= len(reference)
    drawn = np.array([points[s] for s in steps])
    np.testing.assert_allclose(drawn, reference[np.array(steps) - 1], rtol=1e-6)


def _named_actors(topo) -> list[str]:
    """The runs' actors on the cluster (the board of the deployment left out)."""
    import ray

    if not ray.is_initialized():
        ray.init(address=topo.ray_address, namespace=NAMESPACE, log_to_driver=False)
    named = ray.util.list_named_actors(all_namespaces=True)
    return sorted(
        a["name"] for a in named if a["namespace"] == NAMESPACE and a["name"] != BOARD_NAME
    )


def _pin_head_cpu(topo):
    """An actor holding the head node's CPU, so the run lands on the worker node."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    head = next(
        n["NodeID"]
        for n in ray.nodes()
        if n["Alive"] and n["Resources"].get("node:__internal_head__")
    )

    @ray.remote(num_cpus=1)
    class Holder:
        def node(self):
            return ray.get_runtime_context().get_node_id()

    holder = Holder.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(head, soft=False)
    ).remote()
    assert ray.get(holder.node.remote(), timeout=60) == head
    return holder, head


def test_two_replicas_one_actor_and_failures_lose_no_history(browser, topology, artifacts_dir):
    import ray

    topo = topology
    routes = _route_cookies(topo)
    replica_of = {url.split("//")[1]: i for i, url in enumerate(topo.replica_urls)}
    sessions = {}
    for who, (upstream, route) in zip(("alice", "bob"), routes.items(), strict=True):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": "rnnx_route", "value": route, "url": topo.url}])
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda exc, p=page: p.js_errors.append(str(exc)))
        sessions[who] = (context, page, upstream)
    try:
        alice, bob = sessions["alice"][1], sessions["bob"][1]
        # Sessions land on both replicas, and stay there.
        for context, page, upstream in sessions.values():
            page.goto(f"{topo.url}/{LINK}")
            page.wait_for_selector(READY, timeout=90_000)
            assert _served_by(context, topo) == upstream
        assert {s[2] for s in sessions.values()} == set(routes) and len(routes) == 2

        # One configuration on two replicas: one run, watched by both, on one actor.
        bob.get_by_text(WATCHING).first.wait_for(timeout=30_000)  # he opened it second
        for page in (alice, bob):
            _raw_curve(page)
        _named_actors(topo)  # connects this test to the cluster
        holder, head = _pin_head_cpu(topo)
        _toggle(alice).click()  # Start, on alice's replica
        bob.locator(".st-key-train_toggle button", has_text="Pause").wait_for(timeout=60_000)
        wait_for(lambda: _last_step(bob) >= 80, timeout=90)
        actors = _named_actors(topo)
        assert len(actors) == 1 and actors[0].startswith("shared-"), actors
        where = ray.get(ray.get_actor(actors[0], namespace=NAMESPACE).facts.remote())["node"]
        assert where != head

        # The Ray node training it dies: the run restarts on the head from its last keep.
        ray.kill(holder)
        seen = _last_step(bob)
        topo.kill_ray_worker()
        wait_for(lambda: _last_step(bob) >= seen + 60, timeout=120, seen=lambda: _last_step(bob))
        wait_for(lambda: _last_step(alice) >= seen + 60, timeout=60)
        reference = _uninterrupted_losses(STEP_CAP)
        for page in (alice, bob):
            _assert_points_of_the_run(_curve(page), reference)

        # Bob's replica dies; his reload lands on alice's, and the URL and the store bring
        # the run back, every step of it.
        before = _last_step(bob)
        bob_context, _, bob_upstream = sessions["bob"]
        topo.kill_replica(replica_of[bob_upstream])
        bob.goto(f"{topo.url}/{LINK}")
        bob.wait_for_selector(READY, timeout=90_000)
        assert _served_by(bob_context, topo) != bob_upstream
        _raw_curve(bob)  # a new session: the settings of the page are the defaults again
        wait_for(lambda: _last_step(bob) >= before, timeout=60, seen=lambda: _last_step(bob))
        _assert_points_of_the_run(_curve(bob), reference)
        # The run ends as a run ends, for both: at the cap, every step drawn.
        for page in (alice, bob):
            page.get_by_text(f"Reached the step cap of {STEP_CAP}").first.wait_for(timeout=60_000)
            wait_for(lambda p=page: _last_step(p) == STEP_CAP, timeout=30)
            _assert_points_of_the_run(_curve(page), reference)
            assert page.locator("[data-testid=stException]").count() == 0
        alice_log = topo.replica_log(replica_of[sessions["alice"][2]])
        assert log_problems(alice_log) == []
        assert alice.js_errors == []
    finally:
        for context, page, _ in sessions.values():
            page.screenshot(path=str(artifacts_dir / f"topology-{id(page)}.png"))
            context.close()
        if ray.is_initialized():
            ray.shutdown()
