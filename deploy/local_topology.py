"""The deployment of deploy/compose.yaml on one machine, without containers: Debian's nginx on
loopback in front of app replicas (`streamlit run app.py`), a local Ray cluster of a head and
worker nodes (`ray start`), and one run store folder that all of them share.

As a script: ``python3 deploy/local_topology.py [--replicas 2] [--ray-nodes 2]`` starts
everything, prints the URL and waits for Ctrl-C. As a context manager, for tests and benches::

    with LocalTopology(replicas=2, ray_nodes=2, store=folder) as topo:
        topo.url, topo.replica_urls, topo.ray_address
        topo.kill_replica(0); topo.restart_replica(0); topo.kill_ray_worker()

Every process runs in its own process group and is killed on exit, failure included. Ray is
never stopped with `ray stop`, which ends every Ray on the machine (other tests' clusters
too): each node is one `ray start --block` whose process group holds all its processes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NGINX_TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
NGINX = os.environ.get("NGINX", shutil.which("nginx") or "/usr/sbin/nginx")
# Passive health per replica (the template explains): one failed connection takes a replica
# out of the hash for 10 s. deploy/compose.yaml writes the same parameters.
UPSTREAM_PARAMS = "max_fails=1 fail_timeout=10s"
NAMESPACE = "rnn-explorer"
START_TIMEOUT_S = 90.0
# The same flags as tests/browser/appserver.py (which this module may not import): the level
# and logger name in every line, tracebacks plain.
LOG_ARGS = (
    "--logger.messageFormat", "%(asctime)s %(levelname)s %(name)s: %(message)s",
    "--logger.enableRich", "false",
)  # fmt: skip
# The head declares a node dead after two missed 1 s health checks instead of Ray's default
# (several checks seconds apart): a test that kills a worker node sees it gone in seconds
# (measured: `ray status` lists one node about 7 s after the kill).
FAST_NODE_FAILURE_ENV = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "2",
}


# Ray 2.60 turns token authentication on for a node it starts whenever the machine has a
# token file (~/.ray/auth_token, left by `ray get-auth-token --generate` or an earlier
# session), while `ray status` and clients follow RAY_AUTH_MODE, "disabled" by default:
# then nothing can reach the head. This topology binds loopback only, so every Ray process
# it starts or queries, and its replicas, run with authentication off, whatever the
# machine holds.
RAY_AUTH_ENV = {"RAY_AUTH_MODE": "disabled"}


class TopologyError(RuntimeError):
    """A part of the topology did not start; the message carries its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health_ok(url: str) -> bool:
    """True when ``url`` (a Streamlit `/_stcore/health`) answers 200 "ok"."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def render_nginx_conf(
    listen: str, servers: list[str], error_log: str, access_log: str, user: str = ""
) -> str:
    """deploy/nginx.conf.template with its placeholders filled; ``servers`` are HOST:PORT."""
    upstreams = "\n        ".join(f"server {s} {UPSTREAM_PARAMS};" for s in servers)
    text = NGINX_TEMPLATE.read_text()
    for key, value in {
        "@LISTEN@": listen,
        "@UPSTREAM_SERVERS@": upstreams,
        "@ERROR_LOG@": error_log,
        "@ACCESS_LOG@": access_log,
        "@USER@": f"user {user};" if user else "",
    }.items():
        if key not in text:
            raise ValueError(f"{NGINX_TEMPLATE} has no {key}")
        text = text.replace(key, value)
    return text


class Proc:
    """One started command in its own session (process group), logging to a file."""

    def __init__(self, name, cmd, log: Path, env=None, cwd=None, leader_stops_group=False):
        self.name, self.cmd, self.log = name, cmd, log
        # `ray start --block` stops its node's processes itself on SIGTERM (about 2 s for a
        # head); SIGTERM to the whole group at once left a head running past 10 s.
        self.leader_stops_group = leader_stops_group
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 15.0) -> None:
        """Send ``sig`` to the group (a graceful SIGTERM to its leader alone, if that stops
        the group), then SIGKILL whatever is left of the group after ``timeout``."""
        with contextlib.suppress(ProcessLookupError):
            if sig == signal.SIGTERM and self.leader_stops_group:
                self.popen.send_signal(sig)
            else:
                os.killpg(self.popen.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)
        # The group outlives its leader when children remain (a raylet after `ray start`).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def fail(self, why: str) -> TopologyError:
        text = self.log.read_text(errors="replace")[-6000:]
        return TopologyError(f"{self.name} {why}: {' '.join(self.cmd)}\n--- log ---\n{text}")


def wait_until(check, proc: Proc, what: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if not proc.alive:
            raise proc.fail(f"exited with code {proc.popen.returncode} before {what}")
        if time.monotonic() > deadline:
            raise proc.fail(f"not {what} after {timeout:.0f} s")
        time.sleep(0.25)


class LocalTopology:
    """nginx + ``replicas`` app servers + a Ray cluster of ``ray_nodes`` nodes (0: no Ray,
    the replicas use the in-process thread pool), sharing the run store ``store``."""

    def __init__(
        self,
        replicas: int = 2,
        ray_nodes: int = 2,
        store: str | os.PathLike | None = None,
        workdir: str | os.PathLike | None = None,
        namespace: str = NAMESPACE,
        cpus_per_node: int = 1,
        env: dict[str, str] | None = None,
        nginx: str = NGINX,
    ):
        if replicas < 1:
            raise ValueError("at least one replica")
        self.n_replicas, self.n_ray_nodes = replicas, ray_nodes
        self.cpus_per_node, self.namespace, self.extra_env = cpus_per_node, namespace, env or {}
        self.nginx_bin = nginx
        self._own_workdir = workdir is None
        # Short: Ray's unix sockets live under it and a socket path is limited to 107 bytes.
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="rnnx-"))
        self.store = Path(store) if store else self.workdir / "store"
        self.store.mkdir(parents=True, exist_ok=True)
        self.ray_port = free_port() if ray_nodes else None
        self.ray_address = f"127.0.0.1:{self.ray_port}" if ray_nodes else None
        self.replica_ports = [free_port() for _ in range(replicas)]
        self.replica_urls = [f"http://127.0.0.1:{p}" for p in self.replica_ports]
        self.nginx_port = free_port()
        self.url = f"http://127.0.0.1:{self.nginx_port}"
        self.ray_procs: list[Proc] = []
        self.replicas: list[Proc | None] = [None] * replicas
        self.nginx: Proc | None = None
        self.started: list[Proc] = []  # every process ever started, restarts included

    # --- start and stop ---

    def __enter__(self) -> LocalTopology:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        (self.workdir / "logs").mkdir(exist_ok=True)
        for i in range(self.n_ray_nodes):
            self._start_ray_node(head=i == 0, index=i)
        if self.n_ray_nodes:
            self._wait_ray_nodes(self.n_ray_nodes)
        for i in range(self.n_replicas):
            self._start_replica(i)
        for i in range(self.n_replicas):
            self._wait_replica(i)
        self._start_nginx()

    def stop(self) -> None:
        """Kill everything this topology started, the front first, Ray last."""
        # Restarted replicas' earlier processes are in `started` too (already dead: a no-op).
        for proc in reversed(self.started):
            proc.kill(signal.SIGTERM, timeout=10)
        if self._own_workdir and os.environ.get("RNNX_KEEP_WORKDIR") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- Ray ---

    def _ray_node_cmd(self, head: bool, index: int) -> list[str]:
        ray = shutil.which("ray") or "ray"
        # Every port Ray would otherwise take at a fixed default (the dashboard agent's
        # 52365, ...) is chosen free, so this cluster runs beside any other on the machine.
        ports = [
            "--node-manager-port", str(free_port()),
            "--object-manager-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()),
            "--dashboard-agent-grpc-port", str(free_port()),
            "--metrics-export-port", str(free_port()),
            "--runtime-env-agent-port", str(free_port()),
        ]  # fmt: skip
        role = (
            ["--head", "--port", str(self.ray_port), "--include-dashboard=false"]
            if head
            else ["--address", self.ray_address]
        )
        return [
            ray, "start", *role, *ports,
            # nginx and the replicas listen on 127.0.0.1 only; Ray does not follow this
            # fully: `ss -ltnp` showed its GCS and raylets on every interface and its
            # runtime-env agent on the machine's own address.
            "--node-ip-address", "127.0.0.1",
            "--num-cpus", str(self.cpus_per_node),
            "--object-store-memory", "200000000",
            "--disable-usage-stats",
            # Each node its own temp dir: its sessions and logs stay apart from other Rays.
            "--temp-dir", str(self.workdir / f"ray{index}"),
            "--block",
        ]  # fmt: skip

    def _start_ray_node(self, head: bool, index: int) -> None:
        env = {**os.environ, **RAY_AUTH_ENV, **(FAST_NODE_FAILURE_ENV if head else {})}
        name = "ray-head" if head else f"ray-worker{index}"
        log = self.workdir / "logs" / f"{name}.log"
        proc = Proc(name, self._ray_node_cmd(head, index), log, env=env, leader_stops_group=True)
        self.ray_procs.append(proc)
        self.started.append(proc)
        if head:
            wait_until(lambda: self.ray_alive_nodes() >= 1, proc, "serving its GCS")

    def ray_alive_nodes(self) -> int:
        """How many nodes `ray status` lists as active (0 when it cannot reach the head)."""
        result = subprocess.run(
            [shutil.which("ray") or "ray", "status", "--address", self.ray_address],
            env={**os.environ, **RAY_AUTH_ENV},
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            return 0
        text = result.stdout
        active = text[text.find("Active:") : text.find("Pending:")]
        return sum(1 for line in active.splitlines() if "node_" in line)

    def _wait_ray_nodes(self, n: int) -> None:
        wait_until(lambda: self.ray_alive_nodes() >= n, self.ray_procs[-1], f"{n} Ray nodes")

    def kill_ray_worker(self, index: int = -1) -> None:
        """SIGKILL a non-head Ray node (raylet and workers): a machine that dies."""
        workers = [p for p in self.ray_procs[1:] if p.alive]
        if not workers:
            raise RuntimeError("no live Ray worker node")
        workers[index].kill(signal.SIGKILL)

    # --- app replicas ---

    def replica_env(self) -> dict[str, str]:
        env = {
            **os.environ,
            **RAY_AUTH_ENV,
            "RNN_EXPLORER_RUN_STORE": str(self.store),
            # The sweep cache beside the store, shared like it (its writes are atomic), not
            # cache/ in the checkout.
            "RNN_EXPLORER_SWEEP_DIR": str(self.workdir / "sweeps"),
            **self.extra_env,
        }
        env.pop("RNN_EXPLORER_RAY_ADDRESS", None)
        if self.ray_address:
            env["RNN_EXPLORER_RAY_ADDRESS"] = self.ray_address
            env["RNN_EXPLORER_RAY_NAMESPACE"] = self.namespace
        return env

    def _start_replica(self, i: int) -> None:
        cmd = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.replica_ports[i]),
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
            *LOG_ARGS,
        ]  # fmt: skip
        log = self.workdir / "logs" / f"app{i}.log"
        self.replicas[i] = Proc(f"app{i}", cmd, log, env=self.replica_env(), cwd=REPO_ROOT)
        self.started.append(self.replicas[i])

    def _wait_replica(self, i: int) -> None:
        health = f"{self.replica_urls[i]}/_stcore/health"
        wait_until(lambda: health_ok(health), self.replicas[i], "healthy")

    def kill_replica(self, i: int) -> None:
        """SIGKILL replica ``i`` and everything it started: a web server that dies."""
        self.replicas[i].kill(signal.SIGKILL)

    def restart_replica(self, i: int) -> None:
        """Start replica ``i`` again on its port (nginx knows it by that port)."""
        if self.replicas[i] is not None and self.replicas[i].alive:
            self.replicas[i].kill(signal.SIGTERM)
        self._start_replica(i)
        self._wait_replica(i)

    def process_groups(self) -> list[int]:
        """The process group of every process started (a group id is its leader's pid)."""
        return [p.popen.pid for p in self.started]

    def replica_log(self, i: int) -> str:
        return (self.workdir / "logs" / f"app{i}.log").read_text(errors="replace")

    # --- nginx ---

    def _start_nginx(self) -> None:
        prefix = self.workdir / "nginx"
        for sub in ("logs", "temp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                listen=f"127.0.0.1:{self.nginx_port}",
                servers=[f"127.0.0.1:{p}" for p in self.replica_ports],
                error_log="logs/error.log",
                access_log="logs/access.log",
                # Run as root, nginx's workers would switch to `nobody`, who cannot write
                # the temp folders here: they stay the current user.
                user="root" if os.geteuid() == 0 else "",
            )
        )
        cmd = [self.nginx_bin, "-p", f"{prefix}/", "-c", str(conf)]
        self.nginx = Proc("nginx", cmd, self.workdir / "logs" / "nginx.log")
        self.started.append(self.nginx)
        wait_until(lambda: health_ok(f"{self.url}/_stcore/health"), self.nginx, "proxying")

    def nginx_error_log(self) -> str:
        path = self.workdir / "nginx" / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _interrupt(signum, frame):
    """SIGTERM ends the script like Ctrl-C does, through the same clean-up."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--ray-nodes", type=int, default=2, help="0: no Ray (thread pool)")
    parser.add_argument("--store", help="run store folder (default: a new temporary one)")
    args = parser.parse_args(argv)
    topo = LocalTopology(replicas=args.replicas, ray_nodes=args.ray_nodes, store=args.store)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with topo:
            print(f"RNN Explorer through nginx: {topo.url}")
            for i, url in enumerate(topo.replica_urls):
                print(f"  replica {i}: {url}")
            print(f"  Ray: {topo.ray_address or 'none (thread pool)'}")
            print(f"  run store: {topo.store}")
            print(f"  logs: {topo.workdir / 'logs'}")
            print("Ctrl-C stops everything.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
