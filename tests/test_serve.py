"""`dltrack serve` without a browser: the token gate, junk on the websocket, bad arguments.

The browser side (a phone viewport, live updates, Stop) is tests/e2e/test_serve_page.py.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from dltrack.wire.keys import model_id
from tests.helpers import run_cli
from tests.serve_helpers import ServeProcess

PATHS = ["", "page.js", "widget.js", "widget.css", "manifest.webmanifest", "icon-192.png", "sw.js"]


def status_and_body(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=30))
    return message


def test_every_request_needs_the_token_and_the_page_does_not_hold_it(model_key: str) -> None:
    with ServeProcess(model_key) as server:
        for path in PATHS:
            for query in ("", "?token=", "?token=wrong", f"?token={server.token[:-1]}"):
                code, body = status_and_body(f"{server.base}{path}{query}")
                assert (code, body) == (403, b"403 Forbidden"), (path, query)
            code, body = status_and_body(f"{server.base}{path}?token={server.token}")
            assert code == 200, path
            if path != "manifest.webmanifest":  # the home-screen link must carry it
                assert server.token.encode() not in body, path
        for token in ("wrong", ""):
            with pytest.raises(InvalidStatus) as refused:
                connect(server.ws_url(token), open_timeout=30)
            assert refused.value.response.status_code == 403
        with connect(server.ws_url(), open_timeout=30) as ws:
            assert receive(ws) == {"kind": "hello", "monitors": 1, "read_only": True}
            update = receive(ws)
            assert update["kind"] == "update"
            # The public id only: the key never reaches the page.
            assert update["values"]["state"]["model"]["id"] == model_id(model_key)
            assert model_key not in json.dumps(update)
    # Nothing is logged per request: the token appears once, in the announced URL.
    assert server.output().count(server.token) == 1, server.output()


def test_junk_and_forged_messages_are_ignored(model_key: str) -> None:
    junk: list[Any] = [
        "not json",
        b"\x00\x01binary",
        json.dumps([1, 2]),
        json.dumps({"monitor": 7, "content": {"action": "delete_model"}}),
        json.dumps({"monitor": "0", "content": {"action": "delete_model"}}),
        json.dumps({"monitor": True, "content": {"action": "delete_model"}}),
        json.dumps({"monitor": 0, "content": "stop"}),
        json.dumps({"monitor": 0, "content": {"action": "stop", "training_id": "../../x"}}),
        json.dumps({"monitor": 0, "content": {"action": "stop", "training_id": 12}}),
        json.dumps({"monitor": 0, "content": {"action": "rename_model", "name": ""}}),
        json.dumps({"monitor": 0, "content": {"action": "launch_missiles"}}),
    ]
    with ServeProcess(model_key, "--allow-control") as server:
        with connect(server.ws_url(), open_timeout=30) as ws:
            assert receive(ws)["read_only"] is False
            for message in junk:
                ws.send(message)
            # The same connection still works, and a real control message still does.
            ws.send(json.dumps({"monitor": 0, "content": {"action": "rename_model", "name": "b"}}))
            while receive(ws)["values"]["state"]["model"]["name"] != "b":
                pass
        ok, _ = status_and_body(server.url)
        assert ok == 200
    assert "Traceback" not in server.output()
    from dltrack import list_models

    [model] = list_models()
    assert model.name == "b"  # and not deleted by any of the forged messages


def test_read_only_server_refuses_control_messages(model_key: str) -> None:
    with ServeProcess(model_key) as server, connect(server.ws_url(), open_timeout=30) as ws:
        receive(ws)
        ws.send(json.dumps({"monitor": 0, "content": {"action": "rename_model", "name": "x"}}))
        ws.send(json.dumps({"monitor": 0, "content": {"action": "delete_model"}}))
        # The Watcher rereads the store every few seconds (REFRESH_S): two updates with the
        # model still there and still named as before.
        seen = 0
        while seen < 3:
            state = receive(ws)["values"]["state"]
            assert state["model"]["name"] == "test model"
            seen += 1
    from dltrack import list_models

    assert [m.name for m in list_models()] == ["test model"]


def one_line_error(result: Any) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    return str(line)


def test_bad_arguments_are_one_line_errors(model_key: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert "in use" in one_line_error(run_cli("serve", model_key, "--port", port))
    bad_host = run_cli("serve", model_key, "--host", "no-such-host.invalid", "--port", "0")
    assert "--host" in one_line_error(bad_host)
    elsewhere = run_cli("serve", model_key, "--host", "192.0.2.1", "--port", "0")
    assert "cannot listen" in one_line_error(elsewhere)
    unknown = run_cli("serve", "A" * 22, "--port", "0")
    assert "no model 'id_" in one_line_error(unknown)
    for result in (bad_host, elsewhere, unknown):
        assert result.stdout == ""  # nothing was served, no URL printed


def test_several_keys_one_monitor_each(model_key: str) -> None:
    from dltrack import create_model

    other = create_model("second model").key
    names: dict[int, str] = {}
    with (
        ServeProcess(model_key, other, model_key) as server,
        connect(server.ws_url(), open_timeout=30) as ws,
    ):
        assert receive(ws)["monitors"] == 2  # a key given twice is shown once
        while len(names) < 2:
            update = receive(ws)
            names[update["monitor"]] = update["values"]["state"]["model"]["name"]
    assert names == {0: "test model", 1: "second model"}
    assert "2 models" in server.output()


def test_host_for_the_network_says_so(model_key: str) -> None:
    with ServeProcess(model_key, "--host", "0.0.0.0") as server:
        assert "reachable from the network" in server.output()
        assert "0.0.0.0" not in server.base  # the machine's address, which a phone can open
        port = server.base.rsplit(":", 1)[1].strip("/")
        code, _ = status_and_body(f"http://127.0.0.1:{port}/?token={server.token}")
        assert code == 200
    with ServeProcess(model_key) as local:
        assert "Only this machine" in local.output()
        assert local.base.startswith("http://127.0.0.1:")
