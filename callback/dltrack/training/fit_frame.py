"""Notice fit() leaving through an exception, which Keras reports to no callback hook.

At train begin the training thread finds Keras' `fit()` frame on its own stack; the broker
thread then checks, about once a second, that the frame is still on that thread's stack.
Once it is gone while the training has not ended, fit() raised.
"""

from __future__ import annotations

import sys
import threading
import types


class FitFrame:
    def __init__(self, frame: types.FrameType | None, thread_id: int) -> None:
        self._frame = frame
        self._thread_id = thread_id

    @classmethod
    def find(cls) -> FitFrame:
        """From the training thread, in on_train_begin: the fit() that called the hook."""
        frame: types.FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name == "fit" and "keras" in frame.f_code.co_filename:
                break
            frame = frame.f_back
        return cls(frame, threading.get_ident())

    @property
    def frame(self) -> types.FrameType | None:
        """fit()'s frame while it runs (its locals hold the callbacks), else None."""
        return self._frame

    def left(self) -> bool:
        """From any thread: True once, when fit() is no longer on the training thread's stack."""
        if self._frame is None:
            return False
        frame = sys._current_frames().get(self._thread_id)
        while frame is not None:
            if frame is self._frame:
                return False
            frame = frame.f_back
        self._frame = None
        return True

    def exception(self) -> BaseException | None:
        """The exception being handled on the training thread right now, if any."""
        exc: object = sys._current_exceptions().get(self._thread_id)
        if isinstance(exc, tuple):  # Python 3.11 gives (type, value, traceback)
            exc = exc[1]
        return exc if isinstance(exc, BaseException) else None
