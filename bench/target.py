"""The target every replay measure hits: Debian's nginx with our config, on 127.0.0.1 only.

nginx answers in microseconds from one pinned core, so what the numbers measure is the load
generator. Its endpoints check the session (see nginx.conf.template), so a replay that sends a
stale or missing token is counted as failures rather than as throughput.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH, TARGET_CPU, Processes, free_port, wait_for_port

PRODUCTS = {
    "products": [
        {
            "id": 1000 + i,
            "slug": f"product-{i}",
            "name": f"Pour-over kettle {i}",
            "price": {"amount": 39 + i, "currency": "EUR"},
            "tags": ["kitchen", "coffee"],
            "stock": 10 * i,
        }
        for i in range(12)
    ],
    "page": 1,
    "pages": 1,
}
"""The static JSON document (~1.6 KB), the size of a typical catalog API page."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    port: int
    process: subprocess.Popen


def start_nginx(processes: Processes, run_dir: Path) -> Target:
    """nginx in the foreground (daemon off), so stopping its process group stops it all."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    static = run_dir / "static"
    static.mkdir(parents=True)
    (static / "products.json").write_text(json.dumps(PRODUCTS, separators=(",", ":")))
    port = free_port()
    config = (BENCH / "nginx.conf.template").read_text()
    for key, value in {"@RUN_DIR@": run_dir, "@PORT@": port, "@STATIC_DIR@": static}.items():
        config = config.replace(key, str(value))
    (run_dir / "nginx.conf").write_text(config)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = processes.start(
        [
            nginx,
            "-p",
            str(run_dir),
            "-c",
            str(run_dir / "nginx.conf"),
            "-e",
            str(run_dir / "error.log"),
        ],
        cpus=TARGET_CPU,
        log=run_dir / "nginx.out",
    )
    wait_for_port(port, process)
    return Target(f"http://127.0.0.1:{port}", port, process)
