"""Per-model RabbitMQ users through the management HTTP API (what `dltrack grant` makes).

A granted training may declare dltrack's two exchanges and its own server-named queue, publish
updates and read commands, and nothing else. Topic permissions (RabbitMQ's topic authorisation)
hold it to its model id: it may publish updates only under `<model id>.` and bind its command
queue only to `<model id>.` routing keys; it cannot bind to the updates exchange at all (no
watching other models) and cannot publish commands.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from dltrack.wire.config import mask_url
from dltrack.wire.errors import BackendError

UPDATES = "dltrack.updates"
COMMANDS = "dltrack.commands"
TIMEOUT_S = 10.0


class NoManagementApi(BackendError):
    """The broker offers no usable management API (a shared hosted plan, or the plugin off)."""


def management_url(amqp_url: str) -> str:
    """Where a broker's management API usually is: port 15672, or HTTPS on the host itself for
    `amqps://` (CloudAMQP)."""
    parts = urlsplit(amqp_url)
    if parts.scheme == "amqps":
        return f"https://{parts.hostname}/api"
    return f"http://{parts.hostname}:15672/api"


def user_name(model_id: str) -> str:
    return f"dltrack-{model_id}"


class RabbitAdmin:
    """The management API at `api`, as the user of `amqp_url` (the owner's full user)."""

    def __init__(self, amqp_url: str, api: str) -> None:
        parts = urlsplit(amqp_url)
        self._amqp = parts
        self._api = api.rstrip("/")
        self.vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        login = f"{unquote(parts.username or 'guest')}:{unquote(parts.password or 'guest')}"
        self._auth = "Basic " + base64.b64encode(login.encode()).decode()

    def _call(self, method: str, path: str, body: object | None = None) -> int:
        request = urllib.request.Request(
            self._api + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": self._auth, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            if method == "DELETE" and exc.code == 404:
                return 404
            if exc.code in (401, 403, 404, 405):
                raise NoManagementApi(
                    f"the management API at {self._api} refused {method} (HTTP {exc.code})"
                ) from None
            raise BackendError(f"the management API at {self._api}: HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise NoManagementApi(f"no management API at {self._api} ({exc})") from None

    def grant(self, model_id: str) -> str:
        """Create (or reset) the model's user; the AMQP URL that logs in as it."""
        name, password = user_name(model_id), secrets.token_urlsafe(24)
        vhost, user = quote(self.vhost, safe=""), quote(name, safe="")
        self._call("PUT", f"/users/{user}", {"password": password, "tags": ""})
        updates, commands, own_queue = r"dltrack\.updates", r"dltrack\.commands", r"amq\.gen-.*"
        self._call(
            "PUT",
            f"/permissions/{vhost}/{user}",
            {
                "configure": f"^({updates}|{commands}|{own_queue})$",
                "write": f"^({updates}|{own_queue})$",
                "read": f"^({commands}|{own_queue})$",
            },
        )
        mine = rf"^{model_id}\."
        for exchange, write, read in ((UPDATES, mine, "^$"), (COMMANDS, "^$", mine)):
            self._call(
                "PUT",
                f"/topic-permissions/{vhost}/{user}",
                {"exchange": exchange, "write": write, "read": read},
            )
        netloc = f"{quote(name, safe='')}:{quote(password, safe='')}@{self._amqp.hostname}"
        if self._amqp.port:
            netloc += f":{self._amqp.port}"
        return urlunsplit((self._amqp.scheme, netloc, self._amqp.path, self._amqp.query, ""))

    def revoke(self, model_id: str) -> bool:
        """Delete the model's user (its connections close); False if there was none."""
        return self._call("DELETE", f"/users/{quote(user_name(model_id), safe='')}") != 404

    def __repr__(self) -> str:
        return f"RabbitAdmin({mask_url(urlunsplit(self._amqp))}, {self._api})"
