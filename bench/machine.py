"""What the numbers were measured on: machine, versions and date, for the report's header."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from typing import Any


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def rabbitmq_version() -> str:
    """The installed RabbitMQ server's version (Debian package), else what is known."""
    if shutil.which("dpkg-query"):
        try:
            out = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", "rabbitmq-server"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return "unknown"


def describe() -> dict[str, Any]:
    ram = _ram_gib()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram": f"{ram:.0f} GiB" if ram else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "interpreter": sys.executable,
        "tensorflow": _version("tensorflow-cpu")
        if _version("tensorflow-cpu") != "not installed"
        else _version("tensorflow"),
        "keras": _version("keras"),
        "pika": _version("pika"),
        "tqdm": _version("tqdm"),
        "mlflow": _version("mlflow"),
        "tensorboard": _version("tensorboard"),
        "rabbitmq": rabbitmq_version(),
    }
