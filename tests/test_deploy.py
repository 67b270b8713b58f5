"""deploy/: the local topology (nginx, two app replicas, a two-node Ray cluster) behaves as
the deployment must: sessions spread over the replicas and stick by cookie, a dead replica's
visitors land on the other one, Ray has its two nodes, the WebSocket upgrades through nginx,
and nothing outlives the topology. Plus cheap consistency checks of the Dockerfile and
compose.yaml against the local script. No browser: HTTP requests and a raw WebSocket
handshake.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "deploy"))

import local_topology  # noqa: E402
from local_topology import LocalTopology, TopologyError, render_nginx_conf  # noqa: E402

# Starts a Ray cluster, app replicas and nginx: run apart from the parallel part of .ci/run.
pytestmark = pytest.mark.cluster

DEPLOY = REPO / "deploy"
FRESH_REQUESTS = 20


def get(url: str, path: str, headers: dict[str, str] | None = None):
    """(status, body, headers) of one GET on a new connection (no keep-alive pinning)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def route_cookie(headers) -> str:
    """The rnnx_route value nginx set, from the Set-Cookie headers of a response."""
    for value in headers.get_all("Set-Cookie") or []:
        match = re.match(r"rnnx_route=([^;]+)", value)
        if match:
            return match.group(1)
    raise AssertionError(f"no rnnx_route cookie in {headers.get_all('Set-Cookie')}")


def live_members(pgid: int) -> list[str]:
    """The processes of group ``pgid`` that are not zombies, as "pid name"."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")".
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(f"{stat.parent.name} {name}")
    return members


@pytest.fixture(scope="module")
def topo(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    topology = LocalTopology(replicas=2, ray_nodes=2, store=store)
    with topology:
        yield topology
    left = {g: live_members(g) for g in topology.process_groups()}
    assert not any(left.values()), f"processes outlived the topology: {left}"
    assert not topology.workdir.exists()


def replica_addresses(topo) -> list[str]:
    return [urlsplit(u).netloc for u in topo.replica_urls]


def test_health_through_nginx(topo):
    status, body, headers = get(topo.url, "/_stcore/health")
    assert (status, body.strip()) == (200, b"ok")
    assert headers["X-Upstream"] in replica_addresses(topo)
    assert route_cookie(headers)
    assert topo.nginx_error_log() == ""


def test_fresh_sessions_land_on_every_replica(topo):
    # 20 browsers without the cookie, each given its own random key: with two replicas, all
    # 20 on one of them has probability about 2 in a million under an even hash.
    upstreams = [get(topo.url, "/_stcore/health")[2]["X-Upstream"] for _ in range(FRESH_REQUESTS)]
    assert set(upstreams) == set(replica_addresses(topo)), upstreams


def test_route_cookie_sticks(topo):
    for _ in range(4):
        _, _, first = get(topo.url, "/_stcore/health")
        cookie = route_cookie(first)
        for _ in range(5):
            _, _, headers = get(topo.url, "/_stcore/health", {"Cookie": f"rnnx_route={cookie}"})
            assert headers["X-Upstream"] == first["X-Upstream"]
            # The same key comes back, so the browser keeps it.
            assert route_cookie(headers) == cookie


def test_websocket_upgrades_through_nginx(topo):
    # Streamlit's session runs over /_stcore/stream; a 101 means nginx passed the Upgrade and
    # Streamlit accepted the Origin. Under a site's own name (not 127.0.0.1 or localhost,
    # which Streamlit allows anyway), the Origin passes only if it matches the Host that
    # nginx forwards, port included.
    parts = urlsplit(topo.url)
    site = f"rnnx.test:{parts.port}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        conn.request(
            "GET",
            "/_stcore/stream",
            headers={
                "Host": site,
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": key,
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Protocol": "streamlit",
                "Origin": f"http://{site}",
            },
        )
        response = conn.getresponse()
        assert response.status == 101, (response.status, response.read()[:500])
        assert response.headers["Upgrade"].lower() == "websocket"
    finally:
        conn.close()


def test_dead_replica_visitors_land_on_the_other(topo):
    _, _, first = get(topo.url, "/_stcore/health")
    cookie, pinned = route_cookie(first), first["X-Upstream"]
    index = replica_addresses(topo).index(pinned)
    other = replica_addresses(topo)[1 - index]
    topo.kill_replica(index)
    try:
        for _ in range(3):
            status, body, headers = get(
                topo.url, "/_stcore/health", {"Cookie": f"rnnx_route={cookie}"}
            )
            assert (status, body.strip()) == (200, b"ok")
            assert headers["X-Upstream"].split(", ")[-1] == other
    finally:
        topo.restart_replica(index)
    status, body, _ = get(topo.replica_urls[index], "/_stcore/health")
    assert (status, body.strip()) == (200, b"ok")


def test_replicas_get_the_store_and_ray_address(topo):
    env = topo.replica_env()
    assert env["RNN_EXPLORER_RUN_STORE"] == str(topo.store)
    assert env["RNN_EXPLORER_RAY_ADDRESS"] == topo.ray_address
    assert env["RNN_EXPLORER_RAY_NAMESPACE"] == "rnn-explorer"


def test_ray_cluster_has_two_nodes_and_loses_a_killed_worker(topo):
    assert topo.ray_alive_nodes() == 2
    worker = topo.ray_procs[1]
    topo.kill_ray_worker()
    # SIGKILL is delivered, not awaited: a busy machine takes a moment to end them all.
    deadline = time.monotonic() + 15
    while live_members(worker.popen.pid):
        assert time.monotonic() < deadline, live_members(worker.popen.pid)
        time.sleep(0.2)
    deadline = time.monotonic() + 60
    while topo.ray_alive_nodes() != 1:
        assert time.monotonic() < deadline, "the head still lists the killed worker node"
        time.sleep(1)


def test_failed_start_leaves_nothing_running(tmp_path):
    topology = LocalTopology(replicas=1, ray_nodes=0, workdir=tmp_path, nginx="/bin/false")
    with pytest.raises(TopologyError, match="nginx exited"), topology:
        pass
    left = {g: live_members(g) for g in topology.process_groups()}
    assert topology.process_groups() and not any(left.values()), left


# --- consistency of the container files with the local script (no Docker here) ---


def test_dockerfile_settings():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "https://download.pytorch.org/whl/cpu torch==2.13.0" in text
    assert "torch==2.13.0" in (REPO / "requirements/engine.txt").read_text().splitlines()
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*http://127\.0\.0\.1:8501/_stcore/health", text, re.M | re.S)
    assert re.search(r"^EXPOSE 8501$", text, re.M)
    cmd = re.search(r"^CMD \[(.*?)\]$", text, re.M | re.S).group(1)
    assert '"--server.address", "0.0.0.0"' in cmd and '"--server.port", "8501"' in cmd
    assert "ray[client]==2.60.0" in (REPO / "requirements" / "cluster.txt").read_text()


def compose() -> dict:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with ray
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_names_the_topology():
    services = compose()["services"]
    assert {"nginx", "app1", "app2", "ray-head", "ray-worker"} <= set(services)
    assert "--head" in services["ray-head"]["command"]
    assert "--address=ray-head:6379" in services["ray-worker"]["command"]
    for name in ("app1", "app2", "ray-head", "ray-worker"):
        assert "store:/data" in services[name]["volumes"], name
    for name in ("app1", "app2"):
        env = services[name]["environment"]
        assert env["RNN_EXPLORER_RUN_STORE"].startswith("/data/")
        assert env["RNN_EXPLORER_RAY_ADDRESS"].startswith("ray://ray-head:")
    assert "store" in compose()["volumes"]


def test_compose_fills_the_template_like_the_local_script(tmp_path):
    # Run compose's own sed (paths moved into tmp_path) and compare with render_nginx_conf.
    script = compose()["services"]["nginx"]["command"][-1]
    sed = next(part for part in script.split("&&") if part.strip().startswith("sed"))
    sed = sed.replace(
        "/etc/rnnx/nginx.conf.template", shlex.quote(str(local_topology.NGINX_TEMPLATE))
    )
    sed = sed.replace("/tmp/nginx/nginx.conf", shlex.quote(str(tmp_path / "nginx.conf")))
    subprocess.run(["sh", "-c", sed], check=True)
    ours = render_nginx_conf(
        listen="8080",
        servers=["app1:8501", "app2:8501"],
        error_log="/dev/stderr",
        access_log="/dev/stdout",
        user="nginx",
    )
    theirs = (tmp_path / "nginx.conf").read_text()
    assert "@" not in theirs
    assert theirs.split() == ours.split()


def test_rendered_conf_has_no_placeholder_left():
    text = render_nginx_conf("127.0.0.1:1", ["127.0.0.1:2"], "e.log", "a.log")
    assert not re.search(r"@[A-Z_]+@", text)
    assert "hash $route_key consistent;" in text
    assert "proxy_next_upstream error timeout;" in text


def test_script_runs_and_stops_on_sigterm(tmp_path):
    # The script as a person runs it (no Ray: the thread pool), stopped as Ctrl-C would.
    proc = subprocess.Popen(
        [sys.executable, str(DEPLOY / "local_topology.py"), "--replicas", "1", "--ray-nodes", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("RNN Explorer through nginx: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        replica = proc.stdout.readline().split(": ", 1)[1].strip()
        for server in (url, replica):
            assert get(server, "/_stcore/health")[1].strip() == b"ok"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        # nginx and the replica ran in their own process groups: both must be gone.
        for server in (url, replica):
            with pytest.raises(OSError):
                get(server, "/_stcore/health")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
