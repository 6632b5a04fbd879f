"""Command authentication: an HMAC-SHA256 over every field of a command, and its checks.

Anyone who may use the broker can see and send command messages, so a command counts only if it
carries a MAC keyed by the model key (the key itself never travels). The MAC covers a canonical
encoding of every field, `args` included, so each command kind is covered without code of its
own. A training refuses a command that is unsigned, signed with another key, replayed (an id it
has already seen) or outside the time window; docs/security.md.

Kinds in `VIEWER_KINDS` (a presence signal, which changes nothing but a publishing rate) are
keyed by the viewing token instead, so a read-only viewer can send them and nothing else.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
from typing import Any

from dltrack.wire.keys import viewing_token

# A command older than this (by its own timestamp) is refused: a captured one cannot be replayed
# after the replay memory forgot it. Generous, because the viewer's and the training box's clocks
# (a laptop, a Kaggle machine) are only roughly in step.
MAX_AGE_S = 300.0
# A command dated further ahead than this comes from a clock that is badly off.
MAX_AHEAD_S = 60.0
# Presence signals may be signed by read-only viewers (the viewing token); see the module doc.
VIEWER_KINDS = frozenset({"hello"})

UNSIGNED = "unsigned command: send it with dltrack 0.2 or later, which signs with the model key"
BAD_MAC = "bad signature: the command was not signed with this model's key"
REPLAYED = "replayed command: this command id was already received"
TOO_OLD = "stale command: older than {:.0f} s (or the sender's clock is off)"
TOO_NEW = "command dated in the future: the sender's clock is off by more than {:.0f} s"


def canonical(fields: dict[str, Any]) -> bytes:
    """The signed bytes: the command's fields (no `mac`) as sorted, compact JSON.

    Python's JSON writes floats by `repr`, which reads back to the same float, so a parsed
    command re-encodes to exactly the bytes its sender signed.
    """
    signed = {k: v for k, v in fields.items() if k != "mac"}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def signing_secret(kind: str, model_key: str) -> bytes:
    return (viewing_token(model_key) if kind in VIEWER_KINDS else model_key).encode()


def mac(fields: dict[str, Any], secret: bytes) -> str:
    return hmac.new(secret, canonical(fields), hashlib.sha256).hexdigest()


def refusal(fields: dict[str, Any], model_key: str, now: float) -> str | None:
    """Why a command's message `fields` must be refused, or None if its MAC and time are good."""
    given = fields.get("mac")
    if not isinstance(given, str):
        return UNSIGNED
    expected = mac(fields, signing_secret(str(fields.get("kind")), model_key))
    if not hmac.compare_digest(given, expected):
        return BAD_MAC
    ts = fields.get("ts")
    if not isinstance(ts, int | float) or ts < now - MAX_AGE_S:
        return TOO_OLD.format(MAX_AGE_S)
    if ts > now + MAX_AHEAD_S:
        return TOO_NEW.format(MAX_AHEAD_S)
    return None


class ReplayGuard:
    """The ids of the authentic commands seen within `MAX_AGE_S`, bounded in number.

    Only commands with a good MAC get here, so a flood needs the key. Older ids are forgotten
    because the age check refuses their commands anyway; past `limit` the oldest go first.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._limit = limit

    def first_time(self, command_id: str, ts: float, now: float) -> bool:
        while self._seen and (
            len(self._seen) >= self._limit or next(iter(self._seen.values())) < now - MAX_AGE_S
        ):
            self._seen.popitem(last=False)
        if command_id in self._seen:
            return False
        self._seen[command_id] = ts
        return True
