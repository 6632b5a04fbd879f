"""The `dltrack` command, run as a separate process against the embedded backend."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from dltrack.wire.keys import is_model_key, model_id, new_model_key
from tests.helpers import (
    DLTRACK,
    ROOT,
    JsonViewer,
    child_env,
    epochs,
    run_cli,
    start_training,
    trainings,
    wait_for_status,
    wait_until,
)


def create(name: str = "digits cnn") -> str:
    result = run_cli("models", "create", name)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def models_json() -> list[dict[str, Any]]:
    result = run_cli("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *says: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dltrack: error: ")
    for text in says:
        assert text in lines[0]
    return lines[0]


# -- models -----------------------------------------------------------------------------------


def test_models_create_prints_the_key_alone_on_its_last_line() -> None:
    result = run_cli("models", "create", "digits cnn")
    assert result.returncode == 0
    assert result.stderr == ""
    last = result.stdout.splitlines()[-1]
    assert is_model_key(last)
    assert last == last.strip()
    (model,) = models_json()
    assert model == {
        "key": last,  # the local store keeps the owner's keys; Firestore gives null
        "id": model_id(last),
        "name": "digits cnn",
        "created_at": model["created_at"],
        "train_count": 0,
    }


def test_models_create_json() -> None:
    result = run_cli("models", "create", "--json", "  spaced name  ")
    assert result.returncode == 0
    model = json.loads(result.stdout)
    assert is_model_key(model["key"])
    assert model["name"] == "spaced name"
    assert models_json() == [model]


def test_models_list_rename_delete() -> None:
    assert models_json() == []
    assert "no models yet" in run_cli("models", "list").stdout
    a, b = create("first"), create("second")
    assert [(m["key"], m["name"]) for m in models_json()] == [(a, "first"), (b, "second")]
    text = run_cli("models", "list").stdout
    assert a in text and "second" in text

    result = run_cli("models", "rename", a, "first, renamed")
    assert result.returncode == 0, result.stderr
    assert "renamed 'first' to 'first, renamed'" in result.stdout
    assert [(m["key"], m["name"]) for m in models_json()] == [
        (a, "first, renamed"),
        (b, "second"),
    ]

    result = run_cli("models", "delete", b)
    assert result.returncode == 0, result.stderr
    assert "deleted model 'second'" in result.stdout
    assert [m["key"] for m in models_json()] == [a]


# -- bad input: one line, non-zero, nothing changed -------------------------------------------


@pytest.fixture
def existing() -> Iterator[str]:
    """A model that the bad commands must leave exactly as it is."""
    key = create("keep me")
    before = models_json()
    yield key
    assert models_json() == before


UNKNOWN = new_model_key()


@pytest.mark.parametrize(
    "args",
    [
        ("trainings", "list", UNKNOWN),
        ("trainings", "list", UNKNOWN, "--json"),
        ("trainings", "delete", UNKNOWN, "1"),
        ("trainings", "show", UNKNOWN, "1"),
        ("models", "delete", UNKNOWN),
        ("models", "rename", UNKNOWN, "new name"),
        ("watch", UNKNOWN, "--timeout", "1"),
        ("stop", UNKNOWN),
    ],
)
def test_unknown_key(existing: str, args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert_one_line_error(result, "no model 'id_", "dltrack models create")
    assert result.returncode == 2


@pytest.mark.parametrize(
    "key, command",
    [
        ("bad key!", ("trainings", "list")),
        ("short", ("trainings", "show", "KEY", "1")),
        ("a.b.c.d.e.f.g.h.i.j.k.l", ("models", "delete")),
        ("x" * 65, ("watch",)),
        ("with/slash/0123456789abcdef", ("stop",)),
        ("#all-the-things-0123456789", ("trainings", "delete", "KEY", "1")),
    ],
)
def test_illegal_key(existing: str, key: str, command: tuple[str, ...]) -> None:
    args = [key if a == "KEY" else a for a in command]
    if "KEY" not in command:
        args.append(key)
    assert_one_line_error(run_cli(*args), "is not a model key")


@pytest.mark.parametrize(
    "args, says",
    [
        (("models", "list", "--store", "bogus://x"), "store URL 'bogus://x'"),
        (("models", "create", "m", "--store", "amqp://host/"), "store URL"),
        (("models", "list", "--store", "sqlite://relative.db"), "sqlite:///absolute/path.db"),
        (("trainings", "list", "KEY", "--broker", "http://host"), "broker URL"),
        (("trainings", "list", "KEY", "--broker", "amqp://u:hunter2@host:port/"), "invalid port"),
        (("watch", "KEY", "--broker", "amqp://u:hunter2/@host/"), "broker URL"),
        (("stop", "KEY", "--store", "firestore://"), "firestore://PROJECT_ID"),
    ],
)
def test_malformed_urls(existing: str, args: tuple[str, ...], says: str) -> None:
    args = tuple(existing if a == "KEY" else a for a in args)
    line = assert_one_line_error(run_cli(*args), says)
    assert "hunter2" not in line


def test_malformed_url_in_the_environment(existing: str) -> None:
    result = run_cli("models", "list", DLTRACK_STORE_URL="amqp://u:hunter2@host/")
    line = assert_one_line_error(result, "store URL")
    assert "hunter2" not in line


def test_unwritable_home(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    home = str(blocker / "home")
    for args in (("models", "create", "m"), ("models", "list")):
        assert_one_line_error(run_cli(*args, DLTRACK_HOME=home), "DLTRACK_HOME")


def test_stop_with_nothing_running(existing: str) -> None:
    result = run_cli("stop", existing, "--timeout", "10")
    assert_one_line_error(result, "no training of this key is running")
    assert result.returncode == 1


@pytest.mark.parametrize("number", ["7", "0", "-1", "abc", "#9", "0123456789abcdef"])
def test_trainings_delete_bad_number(existing: str, number: str) -> None:
    assert_one_line_error(
        run_cli("trainings", "delete", existing, number), "has no training", repr(number)
    )
    assert_one_line_error(run_cli("trainings", "show", existing, number), "has no training")


def test_bad_arguments(existing: str) -> None:
    assert_one_line_error(
        run_cli("trainings", "list", existing, "extra"), "usage: dltrack trainings"
    )
    assert_one_line_error(run_cli("models", "create", "   "), "a model name must be")
    assert_one_line_error(run_cli("models", "rename", existing, ""), "a model name must be")
    assert_one_line_error(run_cli("models", "create", "n" * 201), "a model name must be")


# -- trainings recorded by a real fit ---------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A store holding two finished trainings of one model (trained once for the module)."""
    from dltrack import Tracker, create_model
    from tests.helpers import tiny_data, tiny_model

    home = tmp_path_factory.mktemp("recorded")
    url = f"sqlite://{home}/store.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLTRACK_HOME", str(home))  # the spool, too, stays in here
        key = create_model("recorded", store=url).key
        x, y = tiny_data(64)
        model = tiny_model()
        histories = [
            model.fit(
                x,
                y,
                epochs=epochs,
                batch_size=16,
                validation_split=0.25,
                callbacks=[Tracker(key, broker=url, store=url, params={"run": run, "lr": 0.01})],
                verbose=0,
            ).history
            for run, epochs in ((1, 2), (2, 3))
        ]
    yield {"url": url, "key": key, "histories": histories}


@pytest.mark.slow
def test_trainings_json(recorded: dict[str, Any]) -> None:
    result = run_cli("trainings", "list", recorded["key"], "--json", "--store", recorded["url"])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"]["name"] == "recorded"
    assert data["model"]["train_count"] == 2
    assert [t["number"] for t in data["trainings"]] == [1, 2]
    for t, history in zip(data["trainings"], recorded["histories"], strict=True):
        assert t["status"] == "completed"
        # fit()'s logs, plus the learning rate each epoch ended with (docs/control.md).
        assert [e["logs"] for e in t["epochs"]] == [
            {**{k: v[i] for k, v in history.items()}, "lr": pytest.approx(0.01)}
            for i in range(len(history["loss"]))
        ]
    assert data["trainings"][1]["params"]["run"] == 2


@pytest.mark.slow
def test_trainings_text_and_csv(recorded: dict[str, Any]) -> None:
    text = run_cli("trainings", "list", recorded["key"], "--store", recorded["url"]).stdout
    lines = text.splitlines()
    assert lines[0] == "recorded  (2 trainings)"
    assert lines[1].startswith("#1   completed   2/2 epochs")
    assert lines[2].startswith("#2   completed   3/3 epochs")

    result = run_cli("trainings", "list", recorded["key"], "--csv", "--store", recorded["url"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 5  # 2 + 3 epochs
    assert list(rows[0])[:4] == ["training", "training_id", "status", "epoch"]
    last = recorded["histories"][1]
    assert float(rows[-1]["val_loss"]) == last["val_loss"][-1]
    assert (rows[-1]["training"], rows[-1]["epoch"]) == ("2", "2")


@pytest.mark.slow
def test_show(recorded: dict[str, Any]) -> None:
    result = run_cli(
        "trainings", "show", recorded["key"], "#2", "--json", "--store", recorded["url"]
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["number"] == 2
    assert len(shown["epochs"]) == 3
    by_id = run_cli(
        "trainings", "show", recorded["key"], shown["training_id"], "--store", recorded["url"]
    )
    assert by_id.returncode == 0
    text = by_id.stdout
    assert text.startswith(f"recorded #2 ({shown['training_id']}) completed")
    assert "epoch    3  " in text  # 1-based, as Keras prints them
    assert "val_loss" in text
    # The optimizer's float32 0.01 (0.009999999776482582) and the user's lr: one row.
    assert "\n  learning_rate (lr)   0.01\n" in text
    # No separate parameter row for lr (the epochs' own `lr` metric has its sparkline row).
    assert "\n  " + "lr".ljust(20) not in text
    metrics = [line.split()[0] for line in text.splitlines() if "last" in line]
    assert metrics == ["loss", "val_loss", "mae", "val_mae", "lr"]  # the widget's order


@pytest.mark.slow
def test_the_old_spellings_work_one_more_release_with_a_notice(recorded: dict[str, Any]) -> None:
    store = ("--store", recorded["url"])
    for old, new, notice in (
        (
            ("trainings", recorded["key"], "--json", *store),
            ("trainings", "list", recorded["key"], "--json", *store),
            "`dltrack trainings KEY` is now `dltrack trainings list KEY`",
        ),
        (
            ("show", *store, recorded["key"], "2"),
            ("trainings", "show", *store, recorded["key"], "2"),
            "`dltrack show KEY TRAINING` is now `dltrack trainings show KEY TRAINING`",
        ),
    ):
        then, now = run_cli(*old), run_cli(*new)
        assert then.returncode == now.returncode == 0, then.stderr
        assert then.stdout == now.stdout
        (line,) = then.stderr.strip().splitlines()
        assert line.startswith("dltrack: note: ") and notice in line
        assert now.stderr == ""


@pytest.mark.slow
def test_trainings_delete(recorded: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    # Work on a copy: the module's store is shared.
    db = tmp_path / "copy.db"
    shutil.copy(recorded["url"].removeprefix("sqlite://"), db)
    url = f"sqlite://{db}"
    result = run_cli("trainings", "delete", recorded["key"], "1", "--store", url)
    assert result.returncode == 0, result.stderr
    assert "deleted training #1 of 'recorded'" in result.stdout
    data = json.loads(
        run_cli("trainings", "list", recorded["key"], "--json", "--store", url).stdout
    )
    assert [t["number"] for t in data["trainings"]] == [2]
    # Numbers are never reused.
    assert data["model"]["train_count"] == 2


# -- the real thing: a training process, viewers, and stops from other processes --------------


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; killed if still running when it ends."""
    started: list[Any] = []
    yield started
    for child in started:
        if isinstance(child, subprocess.Popen):
            if child.poll() is None:
                child.kill()
            child.wait()
        else:
            child.kill()


def running_training(
    key: str,
    number: int,
    child: subprocess.Popen[str],
    min_epochs: int = 0,
    timeout: float = 90.0,
) -> Any:
    def ready() -> Any:
        if child.poll() is not None:
            _, err = child.communicate()
            raise AssertionError(f"the training process exited ({child.returncode}):\n{err}")
        for t in trainings(key):
            if t.number == number and t.status == "running" and t.epochs_done >= min_epochs:
                return t
        return None

    return wait_until(ready, timeout, f"training #{number} running with {min_epochs}+ epochs")


@pytest.mark.slow
def test_viewers_and_a_stop_across_processes(model_key: str, children: list[Any]) -> None:
    early = [JsonViewer(model_key, "--until-end", "--timeout", "180") for _ in range(2)]
    children.extend(early)
    for viewer in early:  # subscribed before the training starts
        wait_until(viewer.latest, 30, "a first snapshot from an early viewer")

    child = start_training(model_key, epochs=40, step_delay=0.03)
    children.append(child)
    t = running_training(model_key, 1, child, min_epochs=1)

    late = JsonViewer(model_key, "--until-end", "--timeout", "180")
    children.append(late)
    epochs_before = t.epochs_done

    def caught_up() -> Any:
        for _, snap in late.all():
            view = late.training(snap, t.training_id)
            if view and view["current"] and view["current"]["step"] > 0:
                return view
        return None

    # A late viewer shows the running epoch and step straight away (heartbeat + progress),
    # and the epochs finished before it joined (from the store).
    # Counted from the viewer's process start (interpreter and imports included); the
    # catching up itself takes one heartbeat interval (tests/test_watcher.py).
    view = wait_until(caught_up, 15, "the late viewer to show the current epoch and step")
    assert view["current"]["epoch"] >= epochs_before
    assert len(view["epochs"]) >= epochs_before
    assert view["number"] == 1

    result = run_cli("stop", model_key)
    assert result.returncode == 0, result.stderr
    assert "acknowledged" in result.stdout
    assert child.wait(60) == 0

    t = wait_for_status(model_key, 1, ("stopped",), 10)
    assert t.epochs_done < 40
    assert t.stop["kind"] == "stop"
    assert "dltrack stop" in t.stop["sender"]
    assert t.stop["epoch"] == t.epochs_done - 1
    assert isinstance(t.stop["step"], int) and t.stop["step"] >= 1
    stored = {e.epoch for e in epochs(model_key, t.training_id)}
    assert stored == set(range(t.epochs_done))

    for viewer in [*early, late]:
        code, err = viewer.wait(30)
        assert code == 0, err
        assert "Traceback" not in err
        final = viewer.training(viewer.latest(), t.training_id)
        assert final is not None
        assert final["status"] == "stopped"
        assert final["stop"]["epoch"] == t.stop["epoch"]
        assert final["stop"]["step"] == t.stop["step"]
    for viewer in early:
        assert viewer.epochs_seen(t.training_id) == stored


@pytest.mark.slow
def test_stop_after_epoch_across_processes(model_key: str, children: list[Any]) -> None:
    child = start_training(model_key, epochs=40, step_delay=0.03)
    children.append(child)
    running_training(model_key, 1, child, min_epochs=1)
    result = run_cli("stop", model_key, "--after-epoch", "--wait")
    assert result.returncode == 0, result.stderr
    assert "stop acknowledged: the training stops after this epoch" in result.stdout
    assert "training #1 stopped at epoch" in result.stdout
    assert child.wait(60) == 0
    t = wait_for_status(model_key, 1, ("stopped",), 10)
    assert t.stop["kind"] == "stop_after_epoch"
    assert t.epochs_done < 40
    records = epochs(model_key, t.training_id)
    assert [r.steps for r in records] == [90] * len(records)  # every epoch whole
    assert t.stop["step"] == 90


@pytest.mark.slow
def test_two_trainings_of_one_key_are_told_apart(model_key: str, children: list[Any]) -> None:
    procs = [start_training(model_key, epochs=60, step_delay=0.03) for _ in range(2)]
    children.extend(procs)

    def running_or_exited(number: int) -> bool:
        return any(p.poll() is not None for p in procs) or any(
            t.number == number and t.status == "running" for t in trainings(model_key)
        )

    for number in (1, 2):
        wait_until(partial(running_or_exited, number), 90, f"training #{number} to run")
    assert all(p.poll() is None for p in procs), [p.communicate()[1] for p in procs]
    one, two = trainings(model_key)
    assert one.training_id != two.training_id

    result = run_cli("stop", model_key, "--training", "2")
    assert result.returncode == 0, result.stderr
    assert "acknowledged" in result.stdout
    ended = wait_until(
        lambda: [p for p in procs if p.poll() is not None], 60, "a training process to end"
    )
    assert len(ended) == 1 and ended[0].returncode == 0
    assert wait_for_status(model_key, 2, ("stopped",), 10).training_id == two.training_id
    (still,) = [p for p in procs if p is not ended[0]]
    assert still.poll() is None  # the other one trains on
    assert {t.number: t.status for t in trainings(model_key)}[1] == "running"

    result = run_cli("stop", model_key, "--training", one.training_id)
    assert result.returncode == 0, result.stderr
    assert still.wait(60) == 0
    assert wait_for_status(model_key, 1, ("stopped",), 10).stop["kind"] == "stop"

    # Nothing runs any more: a stop now reaches nobody, and says so.
    result = run_cli("stop", model_key, "--training", "1")
    assert_one_line_error(result, "no training of this key is running")


# -- the demo ---------------------------------------------------------------------------------


def demo_key(stdout_line: str) -> str:
    assert stdout_line.startswith("demo model key: "), stdout_line
    return stdout_line.split(": ", 1)[1].strip()


@pytest.mark.slow
def test_demo_trains_and_watches_until_the_end() -> None:
    done = run_cli("demo", "--epochs", "2", "--step-delay", "0.001", timeout=240)
    assert done.returncode == 0, done.stderr
    key = demo_key(done.stdout.splitlines()[0])
    (t,) = trainings(key)
    assert (t.status, t.epochs_done, t.params["epochs"]) == ("completed", 2, 2)
    assert "Epoch 2/2" in done.stdout  # the terminal view showed it


def start_demo(epochs: int) -> subprocess.Popen[str]:
    """`dltrack demo` as a shell starts it: the leader of its own process group, the group
    a terminal's Ctrl+C goes to (`interrupt_demo`)."""
    # With Ctrl+C at its default, as an interactive shell starts a job: a suite started in the
    # background of a script inherits SIGINT ignored, and the demo would never hear it. A
    # Python that resets it and execs the demo (same pid), not preexec_fn: that forks a process
    # full of threads and runs Python in the child.
    reset_and_exec = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return subprocess.Popen(
        [sys.executable, "-c", reset_and_exec, str(DLTRACK), "demo", "--epochs", str(epochs)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=ROOT,
        start_new_session=True,
    )


def interrupt_demo(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C: to every process of the terminal's group


def demo_trainings_alive(key: str) -> list[int]:
    """Pids of demo training processes of this model still running."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if b"dltrack.training.demo_model" in cmdline and key.encode() in cmdline:
                status = (entry / "status").read_text()
                if "State:\tZ" not in status:
                    alive.append(int(entry.name))
    return alive


@pytest.mark.slow
def test_an_interrupted_demo_leaves_its_training_running_and_stoppable() -> None:
    """Ctrl+C reaches the watcher only (the training has a session of its own); without a
    terminal to ask on, the watcher detaches and says how to stop what goes on."""
    proc = start_demo(200)
    pid = None
    try:
        assert proc.stdout is not None
        key = demo_key(proc.stdout.readline())
        wait_for_status(key, 1, ("running",), 120)
        wait_until(lambda: trainings(key)[0].epochs_done >= 1, 120, "a first epoch")
        interrupt_demo(proc)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "detached; the training goes on" in err
        pid = int(re.search(r"\(pid (\d+)\)", out).group(1))  # type: ignore[union-attr]
        assert f"dltrack stop {key}" in out
        assert demo_trainings_alive(key) == [pid]
        time.sleep(1.5)  # it would have been interrupted or terminated by now
        assert trainings(key)[0].status == "running"

        stopped = run_cli("stop", key, "--wait", "--timeout", "60", timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert "training #1 stopped at epoch" in stopped.stdout
        assert trainings(key)[0].status == "stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_demo_interrupted_before_its_training_started_leaves_nothing_behind() -> None:
    proc = start_demo(200)
    try:
        assert proc.stdout is not None
        key = demo_key(proc.stdout.readline())
        wait_until(lambda: demo_trainings_alive(key), 30, "the demo's training process")
        time.sleep(0.5)  # the watcher is up by now; the training is still importing Keras
        assert trainings(key) == []
        interrupt_demo(proc)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert demo_trainings_alive(key) == []
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    "args",
    [
        ("demo", "--epochs", "0"),
        ("demo", "--epochs", "many"),
        ("watch", new_model_key(), "--timeout", "0"),
        ("stop", new_model_key(), "--timeout", "-1"),
        ("watch", new_model_key(), "--timeout", "nan"),
    ],
)
def test_numbers_that_make_no_sense_are_refused(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert "above 0" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_demo_without_its_packages_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from dltrack import cli

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else found(name)
    )
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "sklearn not installed" in err
    assert "pip install 'dltrack[demo]'" in err
