"""Paths into a tree of layers, and the edits a tree editor makes with them.

A path is a tuple of ints: the index in the top-level list, then for each block entered the
number of its inner list (``0`` for a Residual's or Repeat's layers, the branch for a Parallel)
and the index in that list. ``(2,)`` is the third layer; ``(2, 1, 0)`` the first layer of branch
2 of the Parallel at index 2, written ``model.layers[2].branches[1][0]`` in the project file
(:func:`path_text`, :func:`parse_path`). A *list path* (even length) names one inner list:
``()`` is the top level, ``(2, 1)`` that branch.

The edits (:func:`insert_node`, :func:`remove_node`, :func:`move_node`, :func:`wrap_nodes`,
:func:`unwrap_node`, :func:`add_branch`, :func:`remove_branch`) work on a plain
list of :class:`~netstudio.core.design.stack.LayerSpec` in place;
:class:`~netstudio.core.design.stack.LayerStack` offers them with events.
"""

from __future__ import annotations

import re

from netstudio.core.design.blocks import holds_branches, is_block

Path = tuple[int, ...]

_STEP = re.compile(r"\.(layers|branches)\[(\d+)\](?:\[(\d+)\])?")


def path_text(specs: list, path: Path) -> str:
    """``(2, 1, 0)`` -> ``model.layers[2].branches[1][0]`` (the project file's JSON path)."""
    text = f"model.layers[{path[0]}]"
    node = specs[path[0]]
    for list_index, index in zip(path[1::2], path[2::2]):
        text += f".branches[{list_index}][{index}]" if holds_branches(node.type) else f".layers[{index}]"
        node = node.children[list_index][index]
    return text


def parse_path(text: str) -> Path:
    """``model.layers[2].branches[1][0]`` -> ``(2, 1, 0)``; ``ValueError`` if it is not a path."""
    match = re.match(r"^model\.layers\[(\d+)\]", text)
    if not match:
        raise ValueError(f"{text!r} is not a layer path (model.layers[i]...)")
    path = [int(match.group(1))]
    rest = text[match.end():]
    while rest:
        step = _STEP.match(rest)
        if not step or (step.group(1) == "branches") != (step.group(3) is not None):
            raise ValueError(f"{text!r} is not a layer path (at {rest!r})")
        path += [int(step.group(2)), int(step.group(3))] if step.group(3) is not None else [0, int(step.group(2))]
        rest = rest[step.end():]
    return tuple(path)


def node_at(specs: list, path: Path):
    """The spec at *path*; ``IndexError`` if there is none."""
    if not path or len(path) % 2 == 0:
        raise IndexError(f"{path!r} is not the path of a layer")
    return list_at(specs, path[:-1])[_index(list_at(specs, path[:-1]), path[-1])]


def list_at(specs: list, list_path: Path) -> list:
    """The list of layers at *list_path* (``()``: the top level); ``IndexError`` if there is none."""
    if len(list_path) % 2:
        raise IndexError(f"{list_path!r} is not the path of a list of layers")
    layers = specs
    for index, list_index in zip(list_path[::2], list_path[1::2]):
        node = layers[_index(layers, index)]
        if not 0 <= list_index < len(node.children):
            raise IndexError(f"{node.type} has no inner list {list_index}")
        layers = node.children[list_index]
    return layers


def _index(layers: list, index: int) -> int:
    if not 0 <= index < len(layers):
        raise IndexError(f"layer index {index} out of range for {len(layers)} layers")
    return index


def path_of(specs: list, spec) -> Path | None:
    """The path of the very object *spec* in the tree (``is``, not ``==``), or ``None``."""
    pending = [(specs, ())]
    while pending:
        layers, prefix = pending.pop()
        for index, node in enumerate(layers):
            if node is spec:
                return prefix + (index,)
            pending.extend((child, prefix + (index, number)) for number, child in enumerate(node.children))
    return None


def top_paths(selection) -> list[Path]:
    """*selection* sorted in tree order, without duplicates and without any path inside another
    selected block (moving or deleting the block takes it along)."""
    chosen = sorted({tuple(p) for p in selection})
    return [p for p in chosen if not any(p != q and p[:len(q)] == q for q in chosen)]


def insert_node(specs: list, path: Path, spec) -> None:
    """Insert *spec* so that it ends up at *path* (the last index may be the list's length)."""
    layers = list_at(specs, path[:-1])
    layers.insert(max(0, min(path[-1], len(layers))), spec)


def remove_node(specs: list, path: Path):
    """Remove and return the spec at *path*."""
    node_at(specs, path)
    return list_at(specs, path[:-1]).pop(path[-1])


def replace_node(specs: list, path: Path, spec):
    """Put *spec* at *path*; returns the spec it replaces."""
    layers = list_at(specs, path[:-1])
    old = layers[_index(layers, path[-1])]
    layers[path[-1]] = spec
    return old


def move_node(specs: list, source: Path, destination: Path) -> Path:
    """Move the spec at *source* to *destination*, a place in the tree as it is before the move
    (as a drop names it); returns the path it ends up at. A block cannot move into itself."""
    if destination[:len(source)] == source:
        raise ValueError("a block cannot move into itself")
    spec = remove_node(specs, source)
    depth = len(source) - 1
    target = list(destination)
    if len(target) > depth and tuple(target[:depth]) == source[:depth] and source[depth] < target[depth]:
        target[depth] -= 1  # the removal shifted everything after the source up by one
    insert_node(specs, tuple(target), spec)
    layers = list_at(specs, tuple(target[:-1]))
    return tuple(target[:-1]) + (layers.index(spec),)


def wrap_nodes(specs: list, path: Path, count: int, block) -> Path:
    """Put the *count* siblings starting at *path* inside *block* (a new, empty block: its first
    inner list gets them; a Parallel keeps its other branches); returns the block's path."""
    layers = list_at(specs, path[:-1])
    start = _index(layers, path[-1])
    if count < 1 or start + count > len(layers):
        raise IndexError(f"cannot wrap {count} layers from index {start} of {len(layers)}")
    if not is_block(block.type) or not block.children:
        raise ValueError(f"{block.type} is not a block")
    block.children[0] = layers[start:start + count]
    layers[start:start + count] = [block]
    return path


def unwrap_node(specs: list, path: Path) -> list[Path]:
    """Replace the block at *path* by the layers it holds (a Parallel's branches one after the
    other); returns their paths."""
    block = node_at(specs, path)
    if not is_block(block.type):
        raise ValueError(f"{block.type} is not a block")
    inner = [spec for child in block.children for spec in child]
    layers = list_at(specs, path[:-1])
    layers[path[-1]:path[-1] + 1] = inner
    return [path[:-1] + (path[-1] + i,) for i in range(len(inner))]


def add_branch(specs: list, path: Path, index: int | None = None) -> int:
    """Add an empty branch to the Parallel at *path* (at the end by default); returns its number."""
    block = node_at(specs, path)
    if not is_block(block.type) or not holds_branches(block.type):
        raise ValueError(f"{block.type} has no branches")
    index = len(block.children) if index is None else max(0, min(index, len(block.children)))
    block.children.insert(index, [])
    return index


def remove_branch(specs: list, path: Path, index: int) -> list:
    """Remove branch *index* of the Parallel at *path*; returns its layers."""
    block = node_at(specs, path)
    if not is_block(block.type) or not holds_branches(block.type):
        raise ValueError(f"{block.type} has no branches")
    if not 0 <= index < len(block.children):
        raise IndexError(f"the Parallel has no branch {index}")
    return block.children.pop(index)
