"""Knowing that a trainer's thread is held by its pause, without waiting a fixed time for it."""

from __future__ import annotations

import threading


class PauseWatch(threading.Event):
    """Stands in for a Trainer's "unpaused" flag; ``held`` is set while the training thread waits
    on it (it is paused, and no step can run until it is resumed)."""

    def __init__(self, unpaused: threading.Event, on_hold=None):
        super().__init__()
        if unpaused.is_set():
            self.set()
        self.held = threading.Event()
        self.on_hold = on_hold

    def wait(self, timeout: float | None = None) -> bool:
        if self.on_hold is not None:
            self.on_hold()
        self.held.set()
        try:
            return super().wait(timeout)
        finally:
            self.held.clear()


def watch_pause(trainer, on_hold=None) -> threading.Event:
    """Watch *trainer*'s pause (before it trains); returns the event set while a pause holds it."""
    watch = PauseWatch(trainer._unpaused, on_hold)
    trainer._unpaused = watch
    return watch.held
