"""`dltrack grant` on a real RabbitMQ with the management API: the per-model user works for its
model and gets ACCESS_REFUSED for any other; a training with only the token is watched and
stopped from the owner's side; `--revoke` locks it out."""

from __future__ import annotations

import threading
from typing import Any

import pika
import pika.exceptions
import pytest

from dltrack import Tracker, Watcher
from dltrack.backends.amqp_broker import AmqpBroker
from dltrack.wire.errors import ConfigError
from dltrack.wire.keys import model_id, new_model_key, new_training_id
from dltrack.wire.protocol import HEARTBEAT, make_update
from dltrack.wire.training_token import ENV, TrainingToken
from tests.helpers import pace_callback, run_cli, tiny_data, tiny_model, trainings

pytestmark = pytest.mark.amqp


def grant(key: str, admin: dict[str, Any], *more: str) -> TrainingToken:
    result = run_cli(
        "grant", key, "--broker", admin["url"], "--management", admin["management"], *more
    )
    assert result.returncode == 0, result.stderr
    return TrainingToken.decode(result.stdout.splitlines()[-1])


def refused(action: Any) -> str:
    """Run `action` on a fresh channel of the granted user; the broker's refusal text."""
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
        action()
    assert closed.value.reply_code == 403
    return str(closed.value.reply_text)


def test_the_model_user_is_held_to_its_model(
    rabbitmq_admin: dict[str, Any], model_key: str
) -> None:
    token = grant(model_key, rabbitmq_admin)
    assert token.model_key == model_key and token.broker_url != rabbitmq_admin["url"]
    mine, other = model_id(model_key), model_id(new_model_key())
    tid = new_training_id()

    # What a training does, through dltrack's own broker: all allowed.
    broker = AmqpBroker(str(token.broker_url))
    commands = broker.listen_commands(mine, tid)
    broker.publish_update(make_update(HEARTBEAT, mine, tid, 1, snapshot={}))
    commands.close()
    broker.close()

    connection = pika.BlockingConnection(pika.URLParameters(str(token.broker_url)))
    try:

        def channel() -> Any:
            ch = connection.channel()
            ch.confirm_delivery()
            return ch

        def own_queue(ch: Any) -> str:
            return str(ch.queue_declare("", exclusive=True).method.queue)

        texts = [
            # Publishing another model's updates.
            refused(
                lambda: channel().basic_publish(
                    "dltrack.updates", f"{other}.{tid}.heartbeat", b"{}"
                )
            ),
            # Listening to another model's commands.
            refused(
                lambda: (ch := channel()).queue_bind(
                    own_queue(ch), "dltrack.commands", f"{other}.all"
                )
            ),
            refused(lambda: (ch := channel()).queue_bind(own_queue(ch), "dltrack.commands", "#")),
            # Watching any model's updates, its own included (a training only publishes).
            refused(
                lambda: (ch := channel()).queue_bind(own_queue(ch), "dltrack.updates", f"{mine}.#")
            ),
            # Sending commands.
            refused(lambda: channel().basic_publish("dltrack.commands", f"{mine}.all", b"{}")),
            # Declaring anything but its own server-named queues.
            refused(lambda: channel().queue_declare("dltrack-spy")),
        ]
    finally:
        connection.close()
    assert all("ACCESS_REFUSED" in text for text in texts), texts


def test_a_training_with_only_the_token_is_watched_and_stopped(
    rabbitmq_admin: dict[str, Any], model_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = grant(model_key, rabbitmq_admin)
    x, y = tiny_data(160)
    reached, done = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def owner() -> None:
        try:
            if not reached.wait(60):
                return
            with Watcher(model_key, broker=rabbitmq_admin["url"], sender="owner") as watcher:
                snap = watcher.wait_for(
                    lambda s: bool(s["trainings"]) and s["trainings"][0]["current"] is not None, 20
                )
                seen["live"] = snap is not None
                watcher.stop_training()
                seen["ack"] = watcher.wait_for(
                    lambda s: any(c["state"] in ("acknowledged", "done") for c in s["commands"]), 20
                )
        finally:
            done.set()

    def hold(epoch: int, batch: int) -> None:
        if (epoch, batch) == (0, 3):
            reached.set()
            done.wait(60)

    # The training box: the token and nothing else (the store stays this test's local file).
    monkeypatch.setenv(ENV, token.encode())
    tracker = Tracker()
    threading.Thread(target=owner, daemon=True).start()
    history = tiny_model().fit(
        x, y, epochs=5, batch_size=16, callbacks=[tracker, pace_callback(hold)], verbose=0
    )
    assert seen.get("live") and seen.get("ack") is not None
    assert history.epoch == [0]
    (t,) = trainings(model_key)
    assert (t.status, t.stop["sender"]) == ("stopped", "owner")


def test_revoke_locks_the_user_out(rabbitmq_admin: dict[str, Any], model_key: str) -> None:
    token = grant(model_key, rabbitmq_admin)
    AmqpBroker(str(token.broker_url)).close()
    result = run_cli(
        "grant",
        "--revoke",
        model_key,
        "--broker",
        rabbitmq_admin["url"],
        "--management",
        rabbitmq_admin["management"],
    )
    assert result.returncode == 0 and "revoked the broker user" in result.stdout, result.stderr
    with pytest.raises(ConfigError, match="refused"):
        AmqpBroker(str(token.broker_url))
    again = run_cli(
        "grant",
        "--revoke",
        model_key,
        "--broker",
        rabbitmq_admin["url"],
        "--management",
        rabbitmq_admin["management"],
    )
    assert again.returncode == 0 and "nothing to revoke" in again.stdout


def test_without_a_management_api_the_token_carries_the_shared_url(
    amqp_url: str, model_key: str
) -> None:
    result = run_cli(
        "grant", model_key, "--broker", amqp_url, "--management", "http://127.0.0.1:9/api"
    )
    assert result.returncode == 0, result.stderr
    assert "shared URL" in result.stderr and "guest" not in result.stderr  # no password shown
    token = TrainingToken.decode(result.stdout.splitlines()[-1])
    assert token.broker_url == amqp_url
    # The secret itself is the last line alone: nothing else on stdout holds it.
    assert model_key not in "\n".join(result.stdout.splitlines()[:-1])
