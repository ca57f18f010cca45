"""The operators an exported NetStudio model calls: the allow-list that model files are checked against.

A model file may come from anywhere, and its graph may name any operator PyTorch has, including
ones that do more than compute: ``aten::from_file(path, shared=True)`` creates and memory-maps a
file, so writing to its tensor writes to disk. :mod:`netstudio.core.export.safe_load` therefore accepts
a ``.pt2`` program or a TorchScript model only when every operator in it is one that NetStudio's
own exports contain, listed here beside the layer catalog (:mod:`netstudio.core.layers`):

* :data:`LAYER_OPERATORS`: what each catalog layer type becomes, in torch.export and TorchScript;
* :data:`BLOCK_OPERATORS`: what each block (Residual, Parallel, Repeat) adds around its layers;
* :data:`FRAME_OPERATORS`: what every export adds around the layers (the preprocessing module and
  the output transform of :class:`~netstudio.core.export_model.ExportedModel`);
* :data:`STRUCTURE_OPERATORS`: TorchScript's plumbing between modules (constants, attributes,
  calls of a submodule's ``forward``, argument lists).

A new layer type (or block) adds its entry in the same change: ``tests/core/test_operators.py``
exports every catalog type (with each of its switches) and every template to both formats and
fails on an operator missing here, on an entry no export uses, and on a layer type without an
entry.

Names are TorchScript's node kinds, ``namespace::name`` without the overload: torch.export's
``torch.ops.aten.conv2d.padding`` is ``aten::conv2d``, as TorchScript's graph names the same call.
One list thus serves both formats, and nothing is lost by ignoring overloads: they only choose the
argument types (``conv2d.padding`` takes ``"same"``, ``conv2d.default`` numbers) of one operator,
whose effects are the operator's, and TorchScript graphs do not record them at all. A Python
function in an FX graph is named by its module and name (``_operator.getitem``).

No PyTorch import here: the layer catalog stays importable without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _ops(*names: str) -> frozenset[str]:
    return frozenset(names)


#: The batch-sized initial state (zeros shaped by the input's batch size) and the last time step.
_RECURRENT = ("aten::zeros", "aten::select", "aten::slice", "aten::sym_size", "_operator.getitem",
              "aten::size", "aten::Int", "prim::NumToTensor")

#: Self-attention: TorchScript traces PyTorch's fused fast path (``_native_multi_head_attention``,
#: ``_transformer_encoder_layer_fwd``) where it applies (even head counts, biases, frozen weights);
#: torch.export and the other settings give the projections, heads and scaled dot products.
_ATTENTION = ("aten::linear", "aten::scaled_dot_product_attention", "aten::view", "aten::reshape", "aten::transpose",
              "aten::permute", "aten::contiguous", "aten::unflatten", "aten::unsqueeze", "aten::squeeze",
              "aten::select", "aten::size", "aten::sym_size", "aten::Int", "prim::NumToTensor", "aten::div",
              "aten::mul", "_operator.mul")

#: Every catalog layer type -> the operators its exports contain (both formats).
LAYER_OPERATORS: dict[str, frozenset[str]] = {
    "Linear": _ops("aten::linear"),
    "Dropout": _ops("aten::dropout"),
    "Identity": _ops(),
    "Conv1d": _ops("aten::conv1d", "aten::_convolution", "aten::_convolution_mode"),
    "Conv2d": _ops("aten::conv2d", "aten::_convolution", "aten::_convolution_mode"),
    "ConvTranspose2d": _ops("aten::conv_transpose2d", "aten::_convolution"),
    "MaxPool1d": _ops("aten::max_pool1d"),
    "MaxPool2d": _ops("aten::max_pool2d"),
    "AvgPool1d": _ops("aten::avg_pool1d"),
    "AvgPool2d": _ops("aten::avg_pool2d"),
    "AdaptiveAvgPool2d": _ops("aten::adaptive_avg_pool2d"),
    "BatchNorm1d": _ops("aten::batch_norm"),
    "BatchNorm2d": _ops("aten::batch_norm"),
    "LayerNorm": _ops("aten::layer_norm"),
    "GroupNorm": _ops("aten::group_norm"),
    "ReLU": _ops("aten::relu"),
    "LeakyReLU": _ops("aten::leaky_relu"),
    "ELU": _ops("aten::elu"),
    "GELU": _ops("aten::gelu"),
    "SiLU": _ops("aten::silu"),
    "Sigmoid": _ops("aten::sigmoid"),
    "Tanh": _ops("aten::tanh"),
    "Softmax": _ops("aten::softmax"),
    "LogSoftmax": _ops("aten::log_softmax"),
    "LSTM": _ops("aten::lstm", *_RECURRENT),
    "GRU": _ops("aten::gru", *_RECURRENT),
    "Flatten": _ops("aten::flatten"),
    "Unflatten": _ops("aten::unflatten"),
    "Dropout1d": _ops("aten::feature_dropout"),
    "Dropout2d": _ops("aten::feature_dropout"),
    "AlphaDropout": _ops("aten::alpha_dropout"),
    "Conv3d": _ops("aten::conv3d", "aten::_convolution", "aten::_convolution_mode"),
    "ConvTranspose1d": _ops("aten::conv_transpose1d", "aten::_convolution"),
    "MaxPool3d": _ops("aten::max_pool3d"),
    "AvgPool3d": _ops("aten::avg_pool3d"),
    "AdaptiveAvgPool1d": _ops("aten::adaptive_avg_pool1d"),
    "AdaptiveMaxPool1d": _ops("aten::adaptive_max_pool1d", "_operator.getitem"),  # (values, indices)[0]
    "AdaptiveMaxPool2d": _ops("aten::adaptive_max_pool2d", "_operator.getitem"),
    "InstanceNorm1d": _ops("aten::instance_norm"),
    "InstanceNorm2d": _ops("aten::instance_norm"),
    "RMSNorm": _ops("aten::rms_norm"),
    "ReLU6": _ops("aten::hardtanh"),
    "SELU": _ops("aten::selu"),
    "CELU": _ops("aten::celu"),
    "Softplus": _ops("aten::softplus"),
    "Mish": _ops("aten::mish"),
    "Hardswish": _ops("aten::hardswish"),
    "Hardsigmoid": _ops("aten::hardsigmoid"),
    "LogSigmoid": _ops("aten::log_sigmoid"),
    "PReLU": _ops("aten::prelu"),
    "GLU": _ops("aten::glu"),
    "RNN": _ops("aten::rnn_tanh", "aten::rnn_relu", *_RECURRENT),
    "Embedding": _ops("aten::embedding"),  # ids cast to int64 by the frame's aten::to
    "PositionalEmbedding": _ops("aten::add"),
    "MultiheadAttention": _ops("aten::_native_multi_head_attention", *_ATTENTION, "aten::cat", "aten::repeat",
                               "aten::zeros"),  # the last three: add_bias_kv, add_zero_attn
    "TransformerEncoderLayer": _ops("aten::_transformer_encoder_layer_fwd", *_ATTENTION, "aten::add",
                                    "aten::dropout", "aten::gelu", "aten::layer_norm", "aten::relu"),
    "SequencePool": _ops("aten::mean", "aten::amax", "aten::select", "aten::slice"),
    "ZeroPad2d": _ops("aten::pad"),
    "ReflectionPad2d": _ops("aten::pad"),
    "Upsample": _ops("aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d",
                     "aten::upsample_linear1d", "aten::upsample_bilinear2d", "aten::upsample_bicubic2d",
                     "aten::upsample_trilinear3d"),
    "PixelShuffle": _ops("aten::pixel_shuffle"),
    "Permute": _ops("aten::permute"),
}

#: Every block -> what it adds around its inner layers (whose own operators are theirs): a
#: Residual's sum, a Parallel's concatenation or sum; a Repeat only calls its copies.
BLOCK_OPERATORS: dict[str, frozenset[str]] = {
    "Residual": _ops("aten::add"),
    "Parallel": _ops("aten::cat", "aten::add"),
    "Repeat": _ops(),
}

#: Around the layers: the input's dtype check and cast, imputing non-finite values, scaling and
#: standardising; then sigmoid / clamp to two columns, softmax, exp, or a regression's units.
FRAME_OPERATORS: frozenset[str] = _ops(
    "aten::_assert_tensor_metadata", "aten::to",
    "aten::isnan", "aten::isinf", "aten::__or__", "aten::where", "aten::div", "aten::sub",
    "aten::sigmoid", "aten::clamp", "aten::rsub", "aten::cat", "aten::softmax", "aten::exp", "aten::mul",
    "aten::add",
)

#: TorchScript's plumbing: constants, reading attributes, calling a submodule, building argument lists.
STRUCTURE_OPERATORS: frozenset[str] = _ops("prim::Constant", "prim::GetAttr", "prim::CallMethod",
                                           "prim::ListConstruct")

#: Every operator a NetStudio model file may call.
ALLOWED_OPERATORS: frozenset[str] = frozenset().union(FRAME_OPERATORS, STRUCTURE_OPERATORS,
                                                      *LAYER_OPERATORS.values(), *BLOCK_OPERATORS.values())

_TORCH_OP = re.compile(r"^torch\.ops\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)(?:\.[A-Za-z0-9_]+)?$")


def operator_name(target: str) -> str:
    """The allow-list's name for a graph target as written in a ``.pt2`` program.

    ``torch.ops.aten.linear.default`` -> ``aten::linear``; anything else (``_operator.getitem``,
    a TorchScript kind such as ``prim::GetAttr``, or a name no NetStudio model holds) unchanged.
    """
    match = _TORCH_OP.match(target)
    return f"{match.group(1)}::{match.group(2)}" if match else target


def first_refused(names: Iterable[str]) -> str | None:
    """The first of *names* (allow-list names) that is not on :data:`ALLOWED_OPERATORS`, or None."""
    return next((name for name in names if name not in ALLOWED_OPERATORS), None)
