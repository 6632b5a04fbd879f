"""`Tracker(webhook=URL)`: each notify rule's firing POSTed as JSON to a real local HTTP server
(stdlib http.server in a thread) by a real Keras fit() in another process. The URL is a secret:
never in the state, the store, the broker's messages, the logs or the output. A failing or
hanging endpoint neither breaks nor holds the training and is reported once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dltrack import Tracker, Watcher
from dltrack.training.webhook import POST_TIMEOUT_S, public_part
from dltrack.wire.errors import ConfigError
from tests.helpers import wait_until
from tests.test_control import Child, outcome, running

SECRET = "T0PSECRET-hook-token"


class Endpoint:
    """A local HTTP server that records each POST; it answers `status`, after `hold` is set
    when one is given (a hanging endpoint)."""

    def __init__(self, status: int = 204, hold: threading.Event | None = None) -> None:
        self.posts: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self.arrived_at = 0.0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.posts.append(
                    {
                        "path": self.path,
                        "type": self.headers["Content-Type"],
                        "body": json.loads(body),
                    }
                )
                endpoint.arrived_at = time.time()
                endpoint.arrived.set()
                if hold is not None:
                    hold.wait(60)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass  # quiet test output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/{SECRET}?token={SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


def notify(rule_id: str) -> dict[str, Any]:
    # loss <= 1e9 holds at the first epoch's end: the rule fires there.
    return {"id": rule_id, "when": "below", "metric": "loss", "value": 1e9, "action": "notify"}


def files_hold(root: Path, text: str) -> list[Path]:
    return [f for f in root.rglob("*") if f.is_file() and text.encode() in f.read_bytes()]


def test_a_bad_url_is_refused_without_repeating_it() -> None:
    for url in (f"ftp://example.org/{SECRET}", f"{SECRET}", "http:///no-host"):
        with pytest.raises(ConfigError) as refused:
            Tracker("k" * 22, webhook=url)
        assert SECRET not in str(refused.value)
        assert "http:// or https://" in str(refused.value)
    assert public_part(f"https://me:{SECRET}@hooks.example.org:8443/x/{SECRET}?t=1") == (
        "https://hooks.example.org:8443"
    )


@pytest.mark.slow
def test_each_notify_firing_is_posted_and_the_url_stays_secret(
    model_key: str, endpoint: Endpoint, tmp_path: Path, dltrack_home: Path
) -> None:
    child = Child(
        model_key, tmp_path, rules=[notify("cheap")], webhook=endpoint.url, delay=0.0, epochs=3
    )
    with Watcher(model_key) as w:
        try:
            code, err = child.finish(120)
        finally:
            child.kill()
        assert code == 0, err
        snap = w.wait_for(lambda s: s["trainings"][0]["status"] == "completed", 30)
        assert snap is not None
        state = json.dumps(snap)

    [post] = wait_until(lambda: endpoint.posts, 30, "the POST")
    assert post["type"] == "application/json"
    assert post["path"] == f"/hooks/{SECRET}?token={SECRET}"
    body = post["body"]
    training = snap["trainings"][0]
    assert body["training_id"] == training["training_id"]
    assert body["number"] == 1
    assert body["model_id"] == snap["model"]["id"] and model_key not in json.dumps(body)
    event = body["event"]
    assert (event["kind"], event["epoch"]) == ("rule", 0)
    assert event["detail"].startswith("cheap: when loss <= 1e+09 → notify: loss = ")
    # The same firing is an event every viewer has.
    assert event["id"] in [e["id"] for e in training["events"]]

    assert SECRET not in state and SECRET not in err
    # The store, the broker's tables, the spool, checkpoints: every file either process wrote.
    assert files_hold(dltrack_home, SECRET) == []
    assert files_hold(tmp_path, SECRET) == []


@pytest.mark.slow
@pytest.mark.parametrize("down", ["500", "unreachable"])
def test_a_failing_webhook_is_said_once_and_the_training_goes_on(
    model_key: str, endpoint: Endpoint, tmp_path: Path, down: str
) -> None:
    if down == "500":
        failing = Endpoint(status=500)
        url, shown = failing.url, f"http://127.0.0.1:{failing.port} failed (HTTP 500)"
    else:
        endpoint.close()  # nothing listens on its port any more
        url, shown = endpoint.url, f"http://127.0.0.1:{endpoint.port} failed (URLError)"
    rules = [notify("a"), notify("b"), notify("c")]
    child = Child(model_key, tmp_path, rules=rules, webhook=url, delay=0.0, epochs=3)
    try:
        code, err = child.finish(120)
    finally:
        child.kill()
        if down == "500":
            failing.close()
    assert code == 0, err
    assert err.count("the notify webhook") == 1, err
    assert shown in err
    assert SECRET not in err
    assert {b["epoch"] for b in child.batches()} == {0, 1, 2}  # every epoch ran


@pytest.mark.slow
def test_a_hanging_webhook_does_not_hold_the_training(model_key: str, tmp_path: Path) -> None:
    release = threading.Event()
    hanging = Endpoint(hold=release)
    child = Child(model_key, tmp_path, rules=[notify("slow")], webhook=hanging.url, delay=0.01)
    try:
        with Watcher(model_key) as w:
            running(w)
            assert hanging.arrived.wait(60), "the POST never came"
            # Batches that ran while the POST was still waiting for its answer (the client
            # gives up after POST_TIMEOUT_S): none, if it were sent from the training thread.
            window = (hanging.arrived_at, hanging.arrived_at + POST_TIMEOUT_S)
            wait_until(
                lambda: len([b for b in child.batches() if window[0] < b["t"] < window[1]]) >= 3,
                60,
                "batches while the endpoint held the POST",
            )
            outcome(w, w.stop_training(), ("done",))
        release.set()
        code, err = child.finish(60)
        assert code == 0, err
    finally:
        release.set()
        child.kill()
        hanging.close()
