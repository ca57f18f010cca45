"""The status bar's permanent fields: validity, parameter count, memory estimate, device."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStatusBar, QWidget

from netstudio.core.design.validation import Validation, format_bytes
from netstudio.core.strings import plural, shorten, tooltip_text
from netstudio.ui.icons import icon


class _Field(QWidget):
    """An icon and a label, side by side."""

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.picture = QLabel(self)
        self.label = QLabel(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.picture)
        layout.addWidget(self.label)
        self.picture.hide()

    def set(self, text: str, tooltip: str = "", icon_name: str | None = None) -> None:
        self.label.setText(shorten(text, 80))
        self.setToolTip(tooltip_text(tooltip))
        if icon_name:
            self.picture.setPixmap(icon(icon_name).pixmap(QSize(14, 14)))
        self.picture.setVisible(bool(icon_name))


class BoundedStatusBar(QStatusBar):
    """A status bar whose messages are cut to one line's worth (:func:`shorten`), the whole text
    in the bar's tooltip: a message naming a huge path or value stays a line."""

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        text = str(text)
        shown = shorten(" ".join(text.split()), 300)
        self.setToolTip(tooltip_text(text) if shown != text else "")
        super().showMessage(shown, timeout)


class DesignStatus:
    """Fills a QStatusBar's permanent area from a :class:`Validation` and the device name."""

    def __init__(self, bar: QStatusBar):
        self.validity = _Field("statusValidity")
        self.parameters = _Field("statusParameters")
        self.memory = _Field("statusMemory")
        self.device = _Field("statusDevice")
        for field in (self.validity, self.parameters, self.memory, self.device):
            bar.addPermanentWidget(field)
        self.set_device("auto", "The device is chosen when training starts: a CUDA GPU if there is one, "
                                "else Apple's MPS, else the CPU.")

    def show_validation(self, validation: Validation) -> None:
        errors = len(validation.errors())
        warnings = sum(1 for r in validation.walk() for i in r.issues if i.severity == "warning")  # blocks too
        warnings += sum(1 for i in validation.issues if i.severity == "warning")
        if not validation.layers:
            self.validity.set("No layers yet", "Add layers from the palette, or start from a template")
        elif errors:
            self.validity.set(f"{plural(errors, 'error')}", validation.first_error() or "", "error")
        elif warnings:
            self.validity.set(f"Valid, {plural(warnings, 'warning')}",
                              "The model can train, but some layers look unintended", "warning")
        else:
            self.validity.set("Valid", "Every layer accepts the shape flowing into it", "valid")
        if validation.output_shape is None and validation.layers:  # layers after an error are not counted
            self.parameters.set(f"{validation.total_parameters:,}+ parameters",
                                "Trainable parameters of the layers before the first error; the rest are "
                                "counted once it is fixed")
        else:
            self.parameters.set(f"{validation.total_parameters:,} parameters", "Trainable parameters of the whole model")
        self.memory.set(f"≈ {format_bytes(validation.memory_bytes)}",
                        f"Estimated memory to train with batch size {validation.batch_size}: weights, "
                        "gradients, optimizer state and activations")

    def set_device(self, text: str, tooltip: str = "") -> None:
        self.device.set(f"Device: {text}", tooltip)
