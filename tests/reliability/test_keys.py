"""Model keys: unguessable, and checked at every way in (docs/architecture.md: invariant 7).

A key is the only credential to a model (whoever holds it can watch and stop its trainings) and
it ends up in AMQP routing keys (where `#` and `*` are wildcards) and Firestore paths (where `/`
nests): a malformed one must be refused with one clear line before it reaches either, and an
unknown one must change nothing.
"""

from __future__ import annotations

import collections
import math
import secrets
import warnings

import pytest

from dltrack import Tracker, Watcher, create_model
from dltrack.cli import main as cli
from dltrack.wire import config
from dltrack.wire.errors import ConfigError, UnknownModelError
from dltrack.wire.keys import is_model_key, model_id, new_model_key
from tests.reliability.support import dltrack_warnings, drive

HOSTILE_KEYS = [
    "",
    "short",
    "x" * 65,
    "#" * 24,
    "*" * 24,
    "abc.def.ghi.jkl.mno.pqr",  # dots: extra routing-key words
    "../../../../etc/passwd/aaaa",
    "models/abcdefghijklmnopqrstuv",  # a Firestore path
    "<script>alert(1)</script>aaaa",
    "abcdefghijk\nlmnopqrstuvw",
    "abcdefghijk lmnopqrstuvw",
    "".join(chr(0xFF41 + i) for i in range(22)),  # full-width look-alikes of a-v
]


def test_keys_are_random_enough() -> None:
    asked: list[int] = []
    real = secrets.token_urlsafe

    def recording(nbytes: int | None = None) -> str:
        asked.append(nbytes or 32)
        return real(nbytes)

    keys = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(secrets, "token_urlsafe", recording)
        keys = [new_model_key() for _ in range(4000)]
    assert min(asked) * 8 >= 120  # bits drawn from the OS's CSPRNG for every key
    assert len(set(keys)) == len(keys)
    assert all(is_model_key(k) and len(k) == 22 and not k.startswith("-") for k in keys)
    # The 64 characters of URL-safe base64 are all used, about evenly (a chi-square check
    # on the first 21 characters; the 22nd carries only 2 random bits).
    counts = collections.Counter(c for k in keys for c in k[:21])
    assert len(counts) == 64
    expected = len(keys) * 21 / 64
    chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
    assert chi2 < 63 + 6 * math.sqrt(2 * 63)  # mean 63, six standard deviations


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_tracker_refuses_a_malformed_key_and_fit_runs(key: str) -> None:
    tracker = Tracker(key)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = drive(tracker, epochs=2, steps=3)
    assert len(run.history) == 2
    (warned,) = dltrack_warnings(caught)
    assert "is not a model key" in warned and "\n" not in warned
    assert tracker._session is None  # nothing started: no thread, no broker, no store
    assert not config.resolve().spool_dir.exists()


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_watcher_and_magic_refuse_a_malformed_key(key: str) -> None:
    from IPython.core.error import UsageError

    from dltrack_widget.magics import dltrack_line

    with pytest.raises(ConfigError, match="is not a model key"):
        Watcher(key)
    with pytest.raises(UsageError, match="is not a model key"):
        dltrack_line(f"'{key}'")


CLI_COMMANDS = [
    ["models", "delete", "{key}"],
    ["models", "rename", "{key}", "new name"],
    ["trainings", "list", "{key}"],
    ["trainings", "delete", "{key}", "1"],
    ["trainings", "show", "{key}", "1"],
    ["watch", "{key}", "--timeout", "1"],
    ["stop", "{key}", "--timeout", "1"],
]


@pytest.mark.parametrize("command", CLI_COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("key", HOSTILE_KEYS[:9])
def test_every_cli_command_refuses_a_malformed_key(
    command: list[str], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli([part.format(key=key) for part in command])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert err.startswith("dltrack: error: ") and "is not a model key" in err
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.firestore
def test_an_unknown_key_changes_nothing(
    firestore_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Well-formed, but no such model in the (real) store."""
    from dltrack.backends import open_store

    existing = create_model("the only model", store=firestore_url).key
    unknown = new_model_key()
    tracker = Tracker(unknown, store=firestore_url)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = drive(tracker, epochs=3, steps=3, step_delay=0.05)
    assert len(run.history) == 3
    (warned,) = dltrack_warnings(caught)
    assert "no model 'id_" in warned and "dltrack models create" in warned
    with pytest.raises(UnknownModelError):
        Watcher(unknown, store=firestore_url).start()
    assert cli(["trainings", "list", unknown, "--store", firestore_url]) == 2
    assert "no model 'id_" in capsys.readouterr().err
    store = open_store(firestore_url)
    try:
        # Firestore files models under their public ids and keeps no keys.
        assert [m.id for m in store.list_models()] == [model_id(existing)]
        assert store.list_trainings(unknown) == []
    finally:
        store.close()
    from dltrack.training.spool import Spool, spool_path

    spool = Spool(spool_path(config.resolve().spool_dir, firestore_url))
    try:
        # Never written (no such model), but kept until `dltrack sync --export/--discard`.
        assert spool.count() >= 1
    finally:
        spool.close()
