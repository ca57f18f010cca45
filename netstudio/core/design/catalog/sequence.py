"""The Sequence layers, for ``[time steps, features]`` inputs: Embedding, PositionalEmbedding,
MultiheadAttention (self-attention), TransformerEncoderLayer and SequencePool."""

from __future__ import annotations

from netstudio.core.design.catalog.common import need_rank, unflatten_fix
from netstudio.core.design.layer_type import Fix, LayerType, Shape, ShapeError
from netstudio.core.design.params import Param

#: This module's layer types, in palette order.
LAYERS: list[LayerType] = []

#: Most token ids an Embedding holds: every id below it is exact in the float32 a model takes.
MAX_VOCABULARY = 2**24
#: The token id of padding in a text input (``[PAD]``): the Embedding's ``padding_idx`` there.
TEXT_PADDING_ID = 0
#: Widest embedding, attention head count and feed-forward width offered.
MAX_WIDTH = 65_536
MAX_HEADS = 1024
MAX_FEEDFORWARD = 1_000_000


def _sequence_rank(name: str, shape: Shape) -> None:
    fix = unflatten_fix(shape, (shape[0], 1)) if len(shape) == 1 else None
    need_rank(name, shape, (2,), "a [time steps, features]", fix)


def _dropout(doc: str, default: float) -> Param:
    return Param("dropout", "float", default, doc, minimum=0.0, maximum=1.0, exclusive_maximum=True)


def _heads_fix(width: int, heads: int, param: str) -> Fix:
    # The largest divisor of the width below the heads asked for: a bounded search, as a project
    # may ask for huge sizes.
    best = next((h for h in range(min(heads, width), 0, -1) if width % h == 0), 1)
    return Fix(f"Set {param} to {best}", "set_param", param=param, value=best)


def _check_heads(name: str, width: int, heads: int, param: str, what: str) -> None:
    if width % heads:
        raise ShapeError(f"{name} {param} {heads} must divide the {width} features ({what})",
                         _heads_fix(width, heads, param))


# --------------------------------------------------------------------------------------------
# Embedding


def _embedding_shape(shape: Shape, p: dict) -> Shape:
    need_rank("Embedding", shape, (1,), "a [time steps] sequence of token ids as")
    if p["padding_idx"] is not None and p["padding_idx"] >= p["num_embeddings"]:
        raise ShapeError(f"Embedding padding_idx {p['padding_idx']} must be below num_embeddings {p['num_embeddings']}",
                         Fix("Set padding_idx to null", "set_param", param="padding_idx", value=None))
    return shape + (p["embedding_dim"],)


def _embedding_build(shape: Shape, p: dict):
    from netstudio.core.design.modules import TokenEmbedding

    return TokenEmbedding(p["num_embeddings"], p["embedding_dim"], padding_idx=p["padding_idx"])


LAYERS.append(LayerType(
    name="Embedding", category="Sequence", prefix="embed",
    doc="Looks up a learned vector for each token id: [T] ids become [T, embedding_dim].",
    params=(
        Param("num_embeddings", "int", 1000, "Number of distinct token ids (the vocabulary size).",
              minimum=1, maximum=MAX_VOCABULARY),
        Param("embedding_dim", "int", 64, "Length of each token's vector.", minimum=1, maximum=MAX_WIDTH),
        Param("padding_idx", "int", None, "A token id whose vector stays zero and learns nothing (null for none).",
              minimum=0, maximum=MAX_VOCABULARY, allow_none=True),
    ),
    shape_fn=_embedding_shape,
    count_fn=lambda s, p: p["num_embeddings"] * p["embedding_dim"],
    build_fn=_embedding_build,
    describe_fn=lambda p: f"{p['num_embeddings']:,} × {p['embedding_dim']}",
))


def _positional_shape(shape: Shape, p: dict) -> Shape:
    _sequence_rank("PositionalEmbedding", shape)
    return shape


def _positional_build(shape: Shape, p: dict):
    from netstudio.core.design.modules import PositionalEmbedding

    return PositionalEmbedding(shape[0], shape[1])


LAYERS.append(LayerType(
    name="PositionalEmbedding", category="Sequence", prefix="pos", own=True,
    doc="Adds a learned vector to each time step, so later layers know where in the sequence it is.",
    params=(),
    shape_fn=_positional_shape,
    count_fn=lambda s, p: s[0] * s[1],
    infer_fn=lambda s, p: {"num_positions": s[0], "embedding_dim": s[1]},
    build_fn=_positional_build,
))


# --------------------------------------------------------------------------------------------
# Attention


def _attention_shape(shape: Shape, p: dict) -> Shape:
    _sequence_rank("MultiheadAttention", shape)
    _check_heads("MultiheadAttention", shape[1], p["num_heads"], "num_heads", "embed_dim is split between the heads")
    return shape


def _attention_count(shape: Shape, p: dict) -> int:
    e = shape[1]
    weights = 4 * e * e + (4 * e if p["bias"] else 0)
    return weights + (2 * e if p["add_bias_kv"] else 0)


def _attention_build(shape: Shape, p: dict):
    from netstudio.core.design.modules import SelfAttention

    return SelfAttention(shape[1], p["num_heads"], dropout=p["dropout"], bias=p["bias"],
                         add_bias_kv=p["add_bias_kv"], add_zero_attn=p["add_zero_attn"])


LAYERS.append(LayerType(
    name="MultiheadAttention", category="Sequence", prefix="attn",
    doc="Self-attention: every time step looks at every other one, through num_heads heads ([T, E] → [T, E]).",
    params=(
        Param("num_heads", "int", 2, "Parallel attention heads (must divide the features).", minimum=1, maximum=MAX_HEADS),
        _dropout("Dropout on the attention weights while training.", 0.0),
        Param("bias", "bool", True, "Learn biases in the input and output projections."),
        Param("add_bias_kv", "bool", False, "Learn an extra key and value that every step can attend to."),
        Param("add_zero_attn", "bool", False, "Add an all-zero key and value that every step can attend to."),
    ),
    shape_fn=_attention_shape,
    count_fn=_attention_count,
    infer_fn=lambda s, p: {"embed_dim": s[1]},
    build_fn=_attention_build,
    describe_fn=lambda p: f"{p['num_heads']} head{'' if p['num_heads'] == 1 else 's'}",
))


def _encoder_shape(shape: Shape, p: dict) -> Shape:
    _sequence_rank("TransformerEncoderLayer", shape)
    _check_heads("TransformerEncoderLayer", shape[1], p["nhead"], "nhead", "d_model is split between the heads")
    return shape


def _encoder_count(shape: Shape, p: dict) -> int:
    d, ff, b = shape[1], p["dim_feedforward"], 1 if p["bias"] else 0
    attention = 4 * d * d + 4 * d * b
    feedforward = 2 * d * ff + (ff + d) * b
    norms = 2 * (d + d * b)
    return attention + feedforward + norms


def _encoder_build(shape: Shape, p: dict):
    from torch import nn

    return nn.TransformerEncoderLayer(shape[1], p["nhead"], dim_feedforward=p["dim_feedforward"], dropout=p["dropout"],
                                      activation=p["activation"], layer_norm_eps=p["layer_norm_eps"], batch_first=True,
                                      norm_first=p["norm_first"], bias=p["bias"])


LAYERS.append(LayerType(
    name="TransformerEncoderLayer", category="Sequence", prefix="encoder",
    doc="A transformer encoder block: self-attention then a feed-forward network, each with a residual and LayerNorm.",
    params=(
        Param("nhead", "int", 2, "Parallel attention heads (must divide the features).", minimum=1, maximum=MAX_HEADS),
        Param("dim_feedforward", "int", 256, "Width of the feed-forward network's hidden layer.",
              minimum=1, maximum=MAX_FEEDFORWARD),
        _dropout("Dropout in the attention and the feed-forward network while training.", 0.1),
        Param("activation", "choice", "relu", "The feed-forward network's non-linearity.", choices=("relu", "gelu")),
        Param("layer_norm_eps", "float", 1e-5, "Added to the variance in the LayerNorms.", minimum=0.0,
              exclusive_minimum=True, maximum=1.0),
        Param("norm_first", "bool", False, "LayerNorm before attention and feed-forward (pre-norm) instead of after."),
        Param("bias", "bool", True, "Learn biases in the linear layers and the LayerNorms."),
    ),
    shape_fn=_encoder_shape,
    count_fn=_encoder_count,
    infer_fn=lambda s, p: {"d_model": s[1]},
    build_fn=_encoder_build,
    describe_fn=lambda p: f"{p['nhead']} heads, ff {p['dim_feedforward']}",
))


# --------------------------------------------------------------------------------------------
# Pooling over time


def _pool_shape(shape: Shape, p: dict) -> Shape:
    _sequence_rank("SequencePool", shape)
    return shape[1:]


def _pool_build(shape: Shape, p: dict):
    from netstudio.core.design.modules import SequencePool

    return SequencePool(p["mode"])


LAYERS.append(LayerType(
    name="SequencePool", category="Sequence", prefix="seqpool", own=True,
    doc="Reduces a sequence to one vector: [T, E] → [E] (mean, max, last or first time step).",
    params=(Param("mode", "choice", "mean", "How the time steps are combined.", choices=("mean", "max", "last", "first")),),
    shape_fn=_pool_shape,
    build_fn=_pool_build,
    describe_fn=lambda p: p["mode"],
))

