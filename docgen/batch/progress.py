"""Progress as people expect it: a bar with count, rate and ETA on a terminal (tqdm), and
plain periodic lines when the output is a file or a pipe."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from tqdm import tqdm

__all__ = ["Progress"]


class Progress:
    """Counts one phase of a batch (``total`` may be unknown)."""

    def __init__(
        self,
        what: str,
        total: int | None,
        *,
        stream: TextIO | None = None,
        every: float = 10.0,
        initial: int = 0,
    ) -> None:
        self.what = what
        self.total = total
        self.stream = stream or sys.stderr
        self.every = every
        self.count = initial
        self.started = time.monotonic()
        self.last = self.started
        self._first = initial
        self._bar: tqdm[Any] | None = None
        if self.stream.isatty():
            self._bar = tqdm(
                total=total,
                initial=initial,
                desc=what,
                unit="cert",
                file=self.stream,
                dynamic_ncols=True,
                smoothing=0.1,
            )

    def update(self, n: int = 1) -> None:
        self.count += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def line(self, now: float) -> str:
        done = self.count - self._first
        rate = done / max(now - self.started, 1e-9)
        text = f"{self.what}: {self.count}"
        if self.total is not None:
            text += f"/{self.total}"
            if rate > 0 and self.total > self.count:
                text += f", ETA {int((self.total - self.count) / rate)} s"
        return text + f", {rate:.1f}/s"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.count > self._first:
            self.stream.write(self.line(time.monotonic()) + "\n")
            self.stream.flush()
