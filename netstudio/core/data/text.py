"""Free-text columns: recognising them, fitting a tokenizer on the training rows, token ids.

A CSV column of free text (``data.text``, or detected when no other column is usable) becomes
the network's input: ``[max_length]`` token ids from a Hugging Face ``tokenizers`` tokenizer
(WordPiece, BPE or whole words; ``data.tokenizer``) fitted on the **training split only**, so a
word seen only in validation rows is unknown to it, as a word in new data would be. ``[PAD]`` is id
0 (the padding, and the Embedding's ``padding_idx``), ``[UNK]`` id 1. Fitting is deterministic:
the trainers' own id order can change from one process to the next (ties, hash maps), so the
ids are renumbered in a fixed order (the special tokens, then the tokens sorted).

The fitted tokenizer is JSON (its ``tokenizer.json``), kept in the preprocessing and written
beside every run and export; encoding goes through
:func:`netstudio.core.data.model_inputs.encode_texts`, the very function the python export ships,
so training, ``predict`` and the exported folder give the same ids for the same text.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from netstudio.core.data.model_inputs import PAD_ID, encode_texts, load_tokenizer, text_values
from netstudio.core.errors import DataError

#: The special tokens, in id order: padding (``PAD_ID``) and unknown.
PAD, UNK = "[PAD]", "[UNK]"
UNK_ID = 1
SPECIAL_TOKENS = (PAD, UNK)
#: A column is text (not an identifier, not categories) when its values are this long on average,
#: hold this many words on average and most of them differ.
TEXT_MIN_CHARS = 15
TEXT_MIN_WORDS = 3.0
TEXT_MIN_DISTINCT = 0.5
#: The suggested max_length covers this share of the training texts, in steps of 8 tokens.
SUGGEST_QUANTILE = 0.95
#: The tokenizer's own file in a run folder and a python export.
TOKENIZER_FILE = "tokenizer.json"
SUGGEST_STEP = 8


def looks_like_text(series) -> bool:
    """Whether a column holds free text: long values with spaces, most of them distinct."""
    text = text_values(series).dropna()
    if len(text) < 2:
        return False
    sample = text.iloc[:2000]
    chars = float(sample.str.len().mean())
    words = float(sample.str.split().str.len().mean())
    distinct = len(sample.unique()) / len(sample)
    return chars >= TEXT_MIN_CHARS and words >= TEXT_MIN_WORDS and distinct >= TEXT_MIN_DISTINCT


def fit_tokenizer(texts, kind: str, vocab_size: int, lowercase: bool) -> dict:
    """Fit a tokenizer on *texts* (the training rows) and return its JSON document.

    Parameters
    ----------
    texts : sequence of str
    kind : str
        ``wordpiece``, ``bpe`` or ``word``.
    vocab_size : int
        Most tokens kept, the special tokens included.
    lowercase : bool
        Lower-case (and strip accents from) the text first.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no warning when a process forks later
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    special = list(SPECIAL_TOKENS)
    if kind == "wordpiece":
        # WordPieceTrainer breaks ties between equally frequent merges differently in each process;
        # plain BPE merges do not. So the pieces are learned as BPE merges (what WordPieceTrainer
        # does inside, too) and each piece goes into the WordPiece vocabulary twice: as a word's
        # start and as a "##" continuation.
        doc = fit_tokenizer(texts, "bpe", max(len(special) + 1, (vocab_size + len(special)) // 2), lowercase)
        pieces = [t for t in doc["model"]["vocab"] if t not in SPECIAL_TOKENS]
        vocab = {token: i for i, token in enumerate([*special, *pieces, *("##" + p for p in pieces)])}
        tokenizer = Tokenizer(models.WordPiece(vocab, unk_token=UNK, max_input_chars_per_word=100))
        tokenizer.add_special_tokens(special)
        tokenizer.decoder = decoders.WordPiece()
        trainer = None
    elif kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False)
    elif kind == "word":
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False)
    else:
        raise DataError(f"data.tokenizer.kind: unknown tokenizer {kind!r} (wordpiece, bpe or word)")
    steps = [normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()] if lowercase else [normalizers.NFC()]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    if trainer is not None:
        tokenizer.train_from_iterator([str(t) for t in texts], trainer)
    return _renumbered(json.loads(tokenizer.to_str()))


def _renumbered(doc: dict) -> dict:
    """*doc* with its vocabulary in a fixed order: the special tokens first, then the rest sorted.

    Encoding depends on the vocabulary's tokens (and BPE's merges, kept in order), never on their
    ids, so only the ids change; the special tokens keep ids 0 and 1."""
    model = doc["model"]
    tokens = sorted(t for t in model["vocab"] if t not in SPECIAL_TOKENS)
    model["vocab"] = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *tokens])}
    for entry in doc.get("added_tokens") or []:
        entry["id"] = model["vocab"][entry["content"]]
    return doc


def tokenizer_text(settings: dict) -> str:
    """The fitted tokenizer of a text preprocessing (its ``text`` settings) as ``tokenizer.json``
    text: what ``tokenizers.Tokenizer.from_file`` reads."""
    return json.dumps(settings["tokenizer"], indent=2, ensure_ascii=False) + "\n"


class TextEncoder:
    """A fitted tokenizer with its settings: texts -> token ids.

    Parameters
    ----------
    settings : dict
        ``{"column", "kind", "vocab_size", "max_length", "lowercase", "tokenizer"}``, the last the
        tokenizer's JSON document (as :func:`fit_tokenizer` returns it).
    """

    def __init__(self, settings: dict) -> None:
        self.settings = dict(settings)
        try:
            self.tokenizer = load_tokenizer(self.settings["tokenizer"])
        except Exception as exc:  # tokenizers raises its own exception type for a bad document
            raise DataError(f"the text tokenizer is damaged ({str(exc).splitlines()[0] if str(exc) else exc})") from None

    @property
    def max_length(self) -> int:
        return int(self.settings["max_length"])

    @property
    def vocabulary(self) -> int:
        """Ids run from 0 to this minus one: the Embedding's ``num_embeddings``."""
        return int(self.tokenizer.get_vocab_size())

    def encode(self, texts) -> np.ndarray:
        """int64 ``[N, max_length]`` ids (padded with ``PAD_ID``, cut after ``max_length``)."""
        return encode_texts(self.tokenizer, texts, self.max_length)

    def token_counts(self, texts) -> np.ndarray:
        """How many tokens each text has before it is cut or padded."""
        return np.array([len(e.ids) for e in self.tokenizer.encode_batch([str(t) for t in texts],
                                                                          add_special_tokens=False)], dtype=np.int64)

    def decode(self, ids) -> str:
        """Token ids back to text (padding and unknown tokens left out; cut texts stay cut)."""
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)

    def tokens(self, text: str) -> list[str]:
        """The tokens of *text* (not cut): what the Data panel shows as an example."""
        return list(self.tokenizer.encode(str(text), add_special_tokens=False).tokens)


def length_stats(counts: np.ndarray, max_length: int) -> dict:
    """Token counts of the training texts: min, median, mean, 95th percentile, max, the share
    longer than *max_length* (cut) and the suggested ``max_length``."""
    counts = np.asarray(counts, dtype=np.float64)
    if not len(counts):
        counts = np.zeros(1)
    p95 = float(np.quantile(counts, SUGGEST_QUANTILE))
    return {"min": int(counts.min()), "median": float(np.median(counts)), "mean": round(float(counts.mean()), 2),
            "p95": p95, "max": int(counts.max()), "truncated_share": round(float((counts > max_length).mean()), 4),
            "suggested_max_length": suggested_max_length(p95)}


def suggested_max_length(p95: float) -> int:
    """The 95th percentile of the token counts rounded up to a multiple of 8 (at least 8)."""
    from netstudio.core.config import MAX_TEXT_LENGTH

    return int(min(MAX_TEXT_LENGTH, max(SUGGEST_STEP, SUGGEST_STEP * math.ceil(p95 / SUGGEST_STEP))))


def text_summary(encoder: TextEncoder, texts, counts: np.ndarray) -> dict:
    """What the Data panel shows about a text input: vocabulary, an example, lengths."""
    example = next((str(t) for t in texts if str(t).strip()), "")
    ids = encoder.encode([example])[0]
    used = int(np.count_nonzero(ids != PAD_ID))
    return {"column": encoder.settings["column"], "kind": encoder.settings["kind"],
            "vocabulary": encoder.vocabulary, "vocab_size": int(encoder.settings["vocab_size"]),
            "max_length": encoder.max_length,
            "lowercase": bool(encoder.settings["lowercase"]),
            "example": {"text": example[:500], "tokens": encoder.tokens(example)[:encoder.max_length],
                        "ids": [int(i) for i in ids[:max(used, 1)]]},
            "lengths": length_stats(counts, encoder.max_length)}


def tokenizer_settings(config: dict) -> dict:
    """``data.tokenizer`` with every default filled in."""
    from netstudio.core.config import Tokenizer, defaults

    given = config.get("tokenizer") or {}
    return {**defaults(Tokenizer), **(given if isinstance(given, dict) else {})}

