"""Keep gRPC's event engine alive for the whole process, so that closing a channel never
freezes it.

Closing the last gRPC channel of a process (explicitly, or when the garbage collector drops a
forgotten Firestore client) waits for gRPC's event-engine threads while it holds the GIL; one of
those threads may need the GIL to drop a Python credentials plugin (google-auth's, which every
real Firestore channel carries), and then every thread of the process waits forever: a training
frozen at its end, a kernel that no interrupt reaches (grpc/grpc#42247, open for grpcio 1.85).
One idle channel held here until the process exits means no other close is ever the last. It
never connects: nothing is ever sent through it.
"""

from __future__ import annotations

import functools
from typing import Any

import grpc

# A target no RPC is ever made to; a channel resolves and connects only when used.
_IDLE_TARGET = "localhost:9"


@functools.cache
def hold_engine() -> Any:
    """The process's idle channel, opened on the first call (two racing first calls would
    open two: harmless)."""
    return grpc.insecure_channel(_IDLE_TARGET)
