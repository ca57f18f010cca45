"""The Data panel's text section: what the fitted tokenizer made of a text column, and its settings.

Shown when the input is a text column (``data.text``): the vocabulary size, one training text as
its tokens and ids, the token counts of the training texts (min, median, 95th percentile, max)
and the ``max_length`` they suggest (a button applies it). The tokenizer's settings
(``data.tokenizer``: kind, vocabulary size, max length, lower-casing) are editable; an edit is one
new data section (the panel refits the tokenizer on a reload).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QWidget

from netstudio.core.config import Tokenizer, defaults, settings
from netstudio.ui.widgets import check_box, choice_box, select, spin_box

#: Most characters of the example text and of its tokens shown (the rest is in the tooltip).
EXAMPLE_CHARS = 160


class TextSettingsBox(QGroupBox):
    """The tokenizer of a text input: facts about the fitted one, and its settings.

    Signals
    -------
    tokenizer_edited(dict)
        The user changed a setting: the whole new ``data.tokenizer`` section.
    """

    tokenizer_edited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Text tokenizer", parent)
        self.setObjectName("textTokenizer")
        self.setToolTip("The text column becomes token ids: a tokenizer fitted on the training rows only splits "
                        "each text, cuts it after max length tokens and pads the rest with [PAD] (id 0)")
        s = settings(Tokenizer)
        self._filling = False
        self.kind = choice_box(s["kind"])
        self.vocab_size = spin_box(s["vocab_size"])
        self.max_length = spin_box(s["max_length"])
        self.lowercase = check_box(s["lowercase"], "Lower-case the text")
        self.vocabulary = _label("textVocabulary")
        self.example = _label("textExample")
        self.example.setTextFormat(Qt.TextFormat.RichText)
        self.lengths = _label("textLengths")
        self.suggest = QPushButton()
        self.suggest.setObjectName("useSuggestedLength")
        self.suggest.setShortcut(QKeySequence("Ctrl+Alt+L"))
        self.suggest.clicked.connect(lambda: self._use_suggested())
        self._suggested: int | None = None
        lengths = QHBoxLayout()
        lengths.setContentsMargins(0, 0, 0, 0)
        lengths.addWidget(self.lengths, 1)
        lengths.addWidget(self.suggest)
        row = QWidget()
        row.setLayout(lengths)
        form = QFormLayout(self)
        form.addRow("Tokenizer", self.kind)
        form.addRow("Vocabulary size", self.vocab_size)
        form.addRow("Max length", self.max_length)
        form.addRow("", self.lowercase)
        form.addRow("Vocabulary", self.vocabulary)
        form.addRow("Example", self.example)
        form.addRow("Tokens per text", row)
        self.kind.currentIndexChanged.connect(self._on_edited)
        self.vocab_size.editingFinished.connect(self._on_edited)
        self.max_length.editingFinished.connect(self._on_edited)
        self.lowercase.toggled.connect(self._on_edited)

    # -- showing -----------------------------------------------------------------------------------
    def show_text(self, summary: dict) -> None:
        """Show a loaded text input: *summary* is the dataset's ``summary.text`` (the settings the
        tokenizer was fitted with, and what it made of the training texts)."""
        values = {**defaults(Tokenizer), **{k: summary[k] for k in settings(Tokenizer) if k in summary}}
        self._filling = True
        try:
            select(self.kind, values["kind"])
            self.vocab_size.setValue(int(values["vocab_size"]))
            self.max_length.setValue(int(values["max_length"]))
            self.lowercase.setChecked(bool(values["lowercase"]))
        finally:
            self._filling = False
        self.vocabulary.setText(f"{summary['vocabulary']:,} tokens (fitted on the training rows, "
                                "[PAD] and [UNK] included)")
        example = summary["example"]
        tokens = " · ".join(example["tokens"])
        self.example.setText(f"<i>{html.escape(_cut(example['text']))}</i><br>{html.escape(_cut(tokens))}")
        self.example.setToolTip(f"{example['text']}\n\ntokens: {tokens}\n\nids: {example['ids']}")
        stats = summary["lengths"]
        self.lengths.setText(f"min {stats['min']}, median {stats['median']:g}, 95% ≤ {stats['p95']:g}, "
                             f"max {stats['max']}; {stats['truncated_share']:.0%} cut")
        self._suggested = int(stats["suggested_max_length"])
        self.suggest.setText(f"Use {self._suggested}")
        self.suggest.setToolTip(f"Set max length to {self._suggested}: it holds 95% of the training texts "
                                "whole, in steps of 8 tokens (Ctrl+Alt+L)")
        self.suggest.setEnabled(self._suggested != self.max_length.value())
        self.show()

    def values(self) -> dict:
        """The settings shown, as a ``data.tokenizer`` section."""
        return {"kind": self.kind.currentData(), "vocab_size": self.vocab_size.value(),
                "max_length": self.max_length.value(), "lowercase": self.lowercase.isChecked()}

    # -- editing -----------------------------------------------------------------------------------
    def _use_suggested(self) -> None:
        if self._suggested is not None and self._suggested != self.max_length.value():
            self.max_length.setValue(self._suggested)
            self._on_edited()

    @Slot()
    def _on_edited(self, *_args) -> None:
        if not self._filling:
            self.tokenizer_edited.emit(self.values())


def _label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _cut(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"
