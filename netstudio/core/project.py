"""The project file (``*.nsproj``): JSON, UTF-8, diff-friendly, never pickle.

A project holds a name, a data section (where the dataset is and how to prepare it), the layer
stack and a training section; what the sections may hold is the schema of
:mod:`netstudio.core.config`. :func:`load_project` reads and validates a file (every error names
its JSON path: ``model.layers[2].params.out_features: must be a positive integer or "auto"``),
migrates older versions and refuses newer ones; :meth:`Project.save` writes atomically and keeps
keys it does not know, so files written by later versions survive a round trip.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netstudio.core.config import default_training, validate_data, validate_sweep, validate_training
from netstudio.core.design.blocks import MAX_NESTING
from netstudio.core.design.layers import Shape
from netstudio.core.design.stack import LOCATED, LayerSpec, LayerStack, check_tree, json_key
from netstudio.core.design.templates import Template, check_input_shape
from netstudio.core.errors import NewerProjectError, ProjectError
from netstudio.core.fileio import atomic_write_text, read_failure

FORMAT = "netstudio-project"
#: The version this NetStudio writes (2: layers may be blocks holding layers; a version-1 file
#: is a version-2 file without blocks).
CURRENT_VERSION = 2
#: Largest project file read; a bigger one is certainly not a hand-made design.
MAX_PROJECT_BYTES = 16 * 2**20
#: Deepest nesting of objects and lists a project may hold (a flat design needs 5 levels, each
#: block 3 more: its object, the branches' list, a branch): deeper documents would exhaust the
#: recursion of copying and comparing them. Blocks themselves stop at MAX_NESTING levels.
MAX_DEPTH = 3 * MAX_NESTING + 16
SUFFIX = ".nsproj"

#: Migrations from version ``v`` to ``v + 1``; each takes and returns the whole document.
#: Version 2 only added blocks, so a version-1 document is already a valid version-2 one.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: lambda doc: doc}


@dataclass
class Project:
    """A NetStudio project: what to train on, what to train, and how.

    Attributes
    ----------
    name : str
    data : dict
        The data section as in the file (``{}`` when no dataset is chosen yet).
    stack : LayerStack
    training : dict
        The training section, every default filled in.
    path : Path, optional
        Where the project was loaded from or last saved; relative data paths resolve beside it.
    extra, model_extra : dict
        Keys this version does not know, kept so that saving does not lose them.
    """

    name: str = "untitled"
    data: dict = field(default_factory=dict)
    stack: LayerStack = field(default_factory=LayerStack)
    training: dict = field(default_factory=default_training)
    path: Path | None = None
    extra: dict = field(default_factory=dict)
    model_extra: dict = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths resolve against (the working folder for a new project)."""
        return self.path.parent if self.path is not None else Path.cwd()

    def resolve(self, path: str | os.PathLike) -> Path:
        """An absolute path for *path*, relative paths taken from :attr:`base_dir`."""
        p = Path(os.path.expanduser(str(path)))
        return p if p.is_absolute() else (self.base_dir / p)

    def data_path(self) -> Path | None:
        """The dataset's absolute path, or ``None`` for sources without a file."""
        path = self.data.get("path")
        return self.resolve(path) if path else None

    def to_json(self) -> dict:
        """The document as written to disk."""
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": CURRENT_VERSION,
            "name": self.name,
            "data": copy.deepcopy(self.data),
            "model": {"layers": self.stack.to_config(), **copy.deepcopy(self.model_extra)},
            "training": copy.deepcopy(self.training),
        }
        for key, value in self.extra.items():
            doc.setdefault(key, copy.deepcopy(value))
        return doc

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def save(self, path: str | os.PathLike | None = None, *, overwrite_newer: bool = False) -> Path:
        """Write the project atomically to *path* (default: where it came from).

        Saving to another folder rewrites the data path so that it still points at the same file:
        relative when the file lies inside the new folder, absolute otherwise. The text is parsed
        and validated as a project, written to a temporary file (synced), read back and
        compared, and only then replaces the file: a save that fails at any step leaves the old file.

        Raises
        ------
        NewerProjectError
            *path* holds a project written by a newer NetStudio, which this one would overwrite in
            its own, older format; pass ``overwrite_newer=True`` once the user has agreed.
        ProjectError
            The project cannot be written as a valid file, or the file cannot be written.
        """
        if path is None:
            if self.path is None:
                raise ProjectError("the project has no file yet: choose where to save it")
            path = self.path
        path = Path(path).absolute()
        if not overwrite_newer:
            found = version_on_disk(path)
            if found is not None and found > CURRENT_VERSION:
                raise NewerProjectError(f"{path} was written by a newer NetStudio (project version {found}; this one "
                                        f"writes version {CURRENT_VERSION}): saving over it may lose what it holds")
        data_file = self.data_path()
        moved = self.path is None or path.parent.resolve() != self.base_dir.resolve()
        old_data_path = self.data.get("path")
        if moved and data_file is not None:
            self.data["path"] = _portable_path(data_file, path.parent)
        try:
            text = self.to_text()
            project_from_json(json.loads(text), path)  # never write what could not be read back
        except (ValueError, TypeError, RecursionError, ProjectError) as exc:
            if moved and data_file is not None:
                self.data["path"] = old_data_path
            reason = exc if isinstance(exc, ProjectError) else f"{type(exc).__name__}: {exc}"
            raise ProjectError(f"cannot save {path}: the project is not valid ({reason})") from None
        try:
            atomic_write_text(path, text, verify=True)  # read back before it replaces the file
        except OSError as exc:
            raise ProjectError(f"cannot save {path}: {exc.strerror or exc}") from exc
        self.path = path
        return path

    def copy(self) -> Project:
        return project_from_json(self.to_json(), self.path)


def version_on_disk(path: str | os.PathLike) -> int | None:
    """The ``version`` of the NetStudio project file at *path*; None if there is no such file or
    it is not a readable project (then nothing newer would be lost by replacing it)."""
    try:
        path = Path(path)
        if not path.is_file() or path.stat().st_size > MAX_PROJECT_BYTES:
            return None
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    version = doc.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _portable_path(target: Path, folder: Path) -> str:
    """*target* relative to *folder* when it lies inside it, else absolute (POSIX separators)."""
    target = target.resolve()
    try:
        return target.relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(target)


# ------------------------------------------------------------------------------------------------
# Loading


def load_project(path: str | os.PathLike) -> Project:
    """Read, migrate and validate the project file at *path*.

    Raises
    ------
    ProjectError
        With one line naming the file and, for a bad value, its JSON path.
    """
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ProjectError(f"{name} is a folder, not a project file")
        if size > MAX_PROJECT_BYTES:
            raise ProjectError(f"{name} is too large to be a project file ({size:,} bytes)")
        raw = path.read_bytes()
    except OSError as exc:
        raise ProjectError(read_failure(name, exc, "project file")) from None
    if not raw.strip():
        raise ProjectError(f"{name} is empty, not a project file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProjectError(f"{name} is not a NetStudio project (not UTF-8 text)") from None
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (RecursionError, ValueError) as exc:
        raise ProjectError(f"{name} is not valid JSON ({exc})") from None
    try:
        return project_from_json(doc, path.absolute())
    except ProjectError as exc:
        raise ProjectError(f"{name}: {exc}") from None


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed in a project file")


def project_from_json(doc: Any, path: Path | None = None) -> Project:
    """Build a :class:`Project` from a parsed document (migrating it if it is older)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProjectError('not a NetStudio project (expected "format": "netstudio-project")')
    check_plain_json(doc)
    doc = migrate(doc)
    name = doc.get("name", path.stem if path else "untitled")
    if not isinstance(name, str) or not name.strip():
        raise ProjectError("name: must be a non-empty string")
    data = _section(doc, "data")
    model = _section(doc, "model")
    training = _section(doc, "training")
    layers = model.get("layers", [])
    if not isinstance(layers, list):
        raise ProjectError("model.layers: must be a list of layers")
    specs = []
    for index, config in enumerate(layers):
        try:
            specs.append(LayerSpec.from_config(config))
        except ValueError as exc:
            raise ProjectError(f"model.layers[{index}].{exc}" if str(exc).startswith(LOCATED) else
                               f"model.layers[{index}]: {exc}") from None
    try:
        check_tree(specs)
    except ValueError as exc:
        raise ProjectError(f"model.layers: {exc}") from None
    known = {"format", "version", "name", "data", "model", "training"}
    if "sweep" in doc:  # kept as written (in extra); netstudio.core.search reads it
        validate_sweep(doc["sweep"])
    return Project(
        name=name,
        data=validate_data(data),
        stack=LayerStack(specs),
        training=validate_training(training),
        path=path,
        extra={k: v for k, v in doc.items() if k not in known},
        model_extra={k: v for k, v in model.items() if k != "layers"},
    )


def check_plain_json(doc: Any) -> None:
    """Refuse anything but plain JSON data: finite numbers, string keys, at most MAX_DEPTH levels.

    A project is data only. Documents built in memory (the window's recovery copy) go through
    here too, so a NaN or an odd object is refused on load instead of failing a later save.
    """
    pending = [(doc, "", 1)]
    while pending:
        value, where, depth = pending.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ProjectError(f"{where or 'the document'}: nested more than {MAX_DEPTH} levels deep")
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise ProjectError(f"{where or 'the document'}: keys must be strings, not {key!r}")
                    step = json_key(key)
                    pending.append((item, f"{where}.{step}" if where else step, depth + 1))
            else:
                pending.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ProjectError(f"{where}: {value} is not a number JSON can hold")
        elif value is not None and not isinstance(value, (str, int, bool)):
            raise ProjectError(f"{where}: a {type(value).__name__} is not JSON data")


def migrate(doc: dict) -> dict:
    """Bring *doc* up to :data:`CURRENT_VERSION`; refuse a version newer than this NetStudio."""
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError("version: must be a positive integer")
    if version > CURRENT_VERSION:
        raise ProjectError(f"written by a newer NetStudio (project version {version}; this NetStudio reads up to "
                           f"{CURRENT_VERSION}): update NetStudio to open it")
    doc = copy.deepcopy(doc)
    while version < CURRENT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ProjectError(f"version {version} projects cannot be migrated")
        doc = step(doc)
        version += 1
        doc["version"] = version
    return doc


def _section(doc: dict, key: str) -> dict:
    value = doc.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProjectError(f"{key}: must be an object")
    return value


def new_project(name: str = "untitled") -> Project:
    """An empty project: no data, no layers, default training settings."""
    return Project(name=name)


# ------------------------------------------------------------------------------------------------
# The designer's input shape, and new projects from templates

#: Key of the model section that holds the designer's input shape (kept until a dataset says
#: what one sample looks like, so that it survives a save and a reopen).
INPUT_SHAPE_KEY = "input_shape"


def read_input_shape(project: Project) -> Shape | None:
    """The input shape stored in *project*, or ``None`` if it has none.

    Raises ``ValueError`` (message prefixed with ``model.input_shape``) if the stored value is not
    a shape, so that the caller can say so and fall back to a suggestion.
    """
    value = project.model_extra.get(INPUT_SHAPE_KEY)
    if value is None:
        return None
    try:
        return check_input_shape(value)
    except ValueError as exc:
        raise ValueError(f"model.{INPUT_SHAPE_KEY}: {exc}") from None


def store_input_shape(project: Project, shape: Shape) -> None:
    """Record *shape* in *project*'s model section (written on the next save)."""
    project.model_extra[INPUT_SHAPE_KEY] = list(check_input_shape(shape))


def project_from_template(template: Template) -> Project:
    """A new, unsaved project holding *template*'s design, its input shape and training settings."""
    training = default_training()
    training.update(copy.deepcopy(template.training))
    project = Project(name=template.key, stack=template.stack(), training=training)
    store_input_shape(project, template.input_shape)
    return project
