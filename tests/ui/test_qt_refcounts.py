"""Guard against a Qt binding that corrupts reference counts when delivering signals.

PySide6 6.12.0 released a reference to the result of every Python slot on each delivery: with
Python 3.11, where None is not immortal, a few hundred signals later the interpreter aborted
("deallocating None"). NetStudio emits thousands of signals per training run, so this test
delivers many and checks that the count of references to None (and to a fresh object returned
by a slot) does not drift.
"""

import gc
import sys

from PySide6.QtCore import QObject, Signal, Slot


class Emitter(QObject):
    plain = Signal()
    with_object = Signal(object)


class Receiver(QObject):
    def __init__(self):
        super().__init__()
        self.kept = object()

    @Slot()
    def decorated(self):
        return None

    def undecorated(self, value):
        return self.kept


def test_signal_delivery_keeps_reference_counts(qapp):
    emitter, receiver = Emitter(), Receiver()
    emitter.plain.connect(receiver.decorated)
    emitter.plain.connect(lambda: None)
    emitter.with_object.connect(receiver.undecorated)
    payload = object()

    def deliver(times):
        for _ in range(times):
            emitter.plain.emit()
            emitter.with_object.emit(payload)

    deliver(100)  # warm up: the binding may cache a result once; only drift per delivery matters
    gc.collect()
    before = [sys.getrefcount(x) for x in (None, receiver.kept, payload)]
    deliver(2000)
    gc.collect()
    after = [sys.getrefcount(x) for x in (None, receiver.kept, payload)]
    assert abs(after[0] - before[0]) < 50, "signal delivery leaks or drops references to None"
    assert after[1:] == before[1:], "signal delivery leaks or drops references to arguments or results"
