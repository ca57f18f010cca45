"""Train this NetStudio model again, in plain PyTorch, from the data file it was trained on.

    python train.py --epochs 1
    torchrun --nproc_per_node=4 train.py       # DistributedDataParallel: nccl on GPUs, gloo on CPU

metadata.json says everything: the data file and its split, the loss, optimizer, schedule, batch
size and seed. Inputs are prepared by model.py (encode_table / read_images, then Preprocess with
the statistics fitted by NetStudio, from weights.safetensors). The network starts from the same
initial weights as the NetStudio run (Net() after torch.manual_seed(seed)) and, on one process,
sees the same batches in the same order. Under torchrun every process trains on its share of each
epoch (padded by repetition, like DistributedSampler) with batches of the configured size, and
DistributedDataParallel averages the gradients. The result is written to --out (default
retrained.safetensors beside this file), which model.load_model(path) loads.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

HERE = Path(__file__).resolve().parent
LOSSES = {
    "mse": nn.MSELoss, "l1": nn.L1Loss, "smooth_l1": nn.SmoothL1Loss, "huber": nn.HuberLoss,
    "bce": nn.BCELoss, "bce_with_logits": nn.BCEWithLogitsLoss,
    "cross_entropy": nn.CrossEntropyLoss, "nll": nn.NLLLoss,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the exported NetStudio model again.")
    parser.add_argument("--data", help="data file or image folder (default: NetStudio's)")
    parser.add_argument("--epochs", type=int, help="number of epochs (default: NetStudio's)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--out", default=str(HERE / "retrained.safetensors"),
                        help="weights file to write")
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    exported = importlib.import_module("model")  # model.py beside this file
    inputs = importlib.import_module("model_inputs")  # how model.py reads raw rows and image files
    meta = json.loads((HERE / "metadata.json").read_text(encoding="utf-8"))
    data, training = meta["project"]["data"], meta["project"]["training"]
    epochs = args.epochs or training["epochs"]

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(args.device, local_rank if world > 1 else None)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # one GPU per process (nccl needs it before joining)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    say = print if rank == 0 else (lambda *a, **k: None)

    classification = meta["task"] != "regression"
    if data.get("sequence"):  # a time series: windows, split in time order
        raw, y, train, val = series_data(exported, inputs, meta, data, args.data)
    else:
        raw, y = load_data(exported, inputs, meta, data, args.data)
        train, val = split_rows(len(y), y if classification else None, data)
    from safetensors.torch import load_file, save_file

    preprocess, x = prepared(exported, load_file(str(HERE / "weights.safetensors")), raw)
    target = targets(y, meta)

    seed = int(training["seed"])
    torch.manual_seed(seed)
    net = exported.Net().to(device)  # the same initial weights as the NetStudio run
    augment = data.get("augment") or {}
    if any(augment.get(k) for k in ("hflip", "vflip", "rotate", "shift", "brightness", "contrast")):
        say("note: this script does not apply data.augment; NetStudio's run augmented the "
            "training images, so the losses here will differ from it")
    say(f"training {meta.get('name')!r} on {device} ({world} process{'es' if world > 1 else ''}): "
        f"{len(train)} training and {len(val)} validation samples, {epochs} epochs")
    best = fit(net, x[train].to(device), target[train].to(device), x[val].to(device),
               target[val].to(device), meta, training, epochs, device, rank, world, say)
    if rank == 0:
        weights = {f"preprocess.{k}": v.contiguous() for k, v in preprocess.state_dict().items()}
        weights.update({f"net.{k}": v.detach().cpu().contiguous() for k, v in best.items()})
        save_file(weights, args.out, metadata={"netstudio": json.dumps(meta)})
        say(f"weights saved to {args.out}")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
        # End without the interpreter's shutdown: with torch 2.13, gloo's threads may still be
        # releasing the last collective then, and the process aborts ("terminate called without
        # an active exception"), which torchrun reports as a failed job. Everything is saved.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def prepared(exported, state: dict, raw: np.ndarray):
    """model.py's Preprocess with NetStudio's fitted statistics, and the raw inputs through it."""
    preprocess = exported.Preprocess()
    stats = {k[len("preprocess."):]: v for k, v in state.items() if k.startswith("preprocess.")}
    preprocess.load_state_dict(stats, strict=True)
    with torch.no_grad():
        x = torch.cat([preprocess(torch.from_numpy(raw[i:i + 65536]))
                       for i in range(0, len(raw), 65536)])
    return preprocess, x


def pick_device(name: str, local_rank: int | None) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and local_rank is not None:
        name = f"cuda:{local_rank}"
    return torch.device(name)


# ------------------------------------------------------------------------------------------------
# Data: raw inputs and targets exactly as NetStudio read them


def load_data(exported, inputs, meta: dict, data: dict, override: str | None):
    """Raw inputs [N, ...] (float32, NaN where missing) and targets (class index or value)."""
    path = Path(override or data["path"])
    path = path if path.is_absolute() else HERE / path
    source = data["source"]
    if path.is_dir() or path.suffix.lower() == ".npz":
        source = "images" if path.is_dir() else "npz"
    if source == "images":
        files, labels = [], []
        for index, name in enumerate(meta["classes"]):
            found = inputs.images_under(path / name)
            files += found
            labels += [index] * len(found)
        readable = []
        for i, file in enumerate(files):  # unreadable files are skipped, as NetStudio skips them
            try:
                readable.append((exported.read_images([file])[0], labels[i]))
            except Exception as exc:  # noqa: BLE001 - any decoder error
                print(f"skipped {file}: {exc}", file=sys.stderr)
        return (np.stack([r[0] for r in readable]).astype(np.float32),
                np.asarray([r[1] for r in readable], dtype=np.int64))
    if source == "npz":
        with np.load(path, allow_pickle=False) as archive:
            X, y = archive["X"], archive["y"]
        y = y.reshape(-1)
        X = X.reshape(-1, 1) if X.ndim == 1 else X
        keep, codes = target_codes(meta, y.astype(np.float64) if y.dtype.kind in "iuf" else None,
                                   [str(v).strip() for v in y])
        return X[keep].astype(np.float32), codes
    frame = read_frame(path, data, override)
    # the column NetStudio trained on (it may have guessed it when data.target is null)
    trained = ((meta.get("preprocessing") or {}).get("target") or {}).get("column")
    name = data.get("target") or trained or frame.columns[-1]
    column = frame[name if name in frame.columns else name.strip()]
    numbers = inputs.parse_numbers(column, exported.DECIMAL, exported.THOUSANDS)[0]
    text = inputs.text_values(column)
    numeric = bool(np.isfinite(numbers[text.notna().to_numpy()]).all())
    keep, codes = target_codes(meta, numbers if numeric else None, text.tolist())
    if hasattr(exported, "encode_text"):  # a text model: token ids of its text column
        return exported.encode_text(frame.iloc[np.flatnonzero(keep)]), codes
    return exported.encode_table(frame.iloc[np.flatnonzero(keep)]), codes


def read_frame(path: Path, data: dict, override: str | None):
    """The CSV as text cells, read as NetStudio read it."""
    import pandas as pd

    fmt = data.get("table_format") if override is None else None
    fmt = fmt or sniff_table(path)
    return pd.read_csv(path, sep=fmt["delimiter"], header=0, names=fmt.get("columns"),
                        index_col=False, dtype=str, encoding=fmt["encoding"], quotechar='"',
                        skipinitialspace=True, keep_default_na=False, skip_blank_lines=True,
                        skiprows=fmt.get("skip_rows") or None, compression=fmt.get("compression"),
                        encoding_errors="replace")


def series_data(exported, inputs, meta: dict, data: dict, override: str | None):
    """A time series as NetStudio windows it: rows in time order, each window the WINDOW rows
    before its target (HORIZON rows after the window's last row); the last rows are validation
    (and test, left out here), and a window and its target lie in one period."""
    import pandas as pd

    path = Path(override or data["path"])
    frame = read_frame(path if path.is_absolute() else HERE / path, data, override)
    seq = exported.SEQUENCE
    window, horizon, order_by = int(seq["window"]), int(seq["horizon"]), seq.get("order_by")
    if order_by:
        column = frame[order_by]
        if seq.get("order_kind") == "number":
            key = inputs.parse_numbers(column, exported.DECIMAL, exported.THOUSANDS)[0]
        else:
            text = column.astype("string").str.strip()
            key = pd.to_datetime(text, errors="coerce", utc=True)
            if (key.isna() & text.notna()).any():  # not one format: cell by cell, as NetStudio does
                key = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
            key = key.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype("int64")
        frame = frame.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    steps = exported.encode_table(frame)
    target = (meta.get("preprocessing") or {}).get("target", {}).get("column")
    y = inputs.parse_numbers(frame[target], exported.DECIMAL, exported.THOUSANDS)[0]
    n = len(frame)
    validation, test = float(data.get("validation_split", 0.2)), float(data.get("test_split", 0.0))
    n_test = round(n * test) if test > 0 else 0
    n_val = round(n * validation) if validation > 0 else 0
    train_end = max(0, n - n_test - n_val)
    starts = np.arange(max(0, n - window - horizon + 1))
    last = starts + window - 1 + horizon
    ok = np.isfinite(y[last]) if len(starts) else np.zeros(0, dtype=bool)
    train = np.flatnonzero(ok & (last < train_end))
    val = np.flatnonzero(ok & (starts >= train_end) & (last < train_end + n_val))
    windows = np.stack([steps[s:s + window] for s in starts]).astype(np.float32)
    return windows, y[last], train, val


def target_codes(meta: dict, values: np.ndarray | None, text: list):
    """Rows with a usable target, and their class indices (or values, for regression)."""
    if meta["task"] == "regression":
        keep = np.isfinite(values)
        return keep, values[keep]
    if values is not None:  # numeric labels are named like NetStudio names them: 1, not 1.0
        names = [str(int(v)) if math.isfinite(v) and v == round(v) and abs(v) < 2**53
                 else repr(float(v)) for v in values]
    else:
        names = [str(t) for t in text]
    index = {name: i for i, name in enumerate(meta["classes"])}
    codes = np.array([index.get(n, -1) for n in names], dtype=np.int64)
    keep = codes >= 0
    return keep, codes[keep]


def sniff_table(path: Path) -> dict:
    import csv

    raw = path.read_bytes()[:1 << 16]
    encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding, text = "cp1252", raw.decode("cp1252", errors="replace")
    skip = 1 if text.lower().startswith("sep=") else 0
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", skip)[-1], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    return {"delimiter": delimiter, "encoding": encoding, "skip_rows": skip, "columns": None,
            "compression": "infer"}


def split_indices(n: int, labels: np.ndarray | None, fraction: float, seed: int):
    """NetStudio's split: round(count * fraction) of each class (stratified) for validation."""
    rng = np.random.default_rng(seed)
    if fraction <= 0 or n < 2:
        return np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if labels is None:
        val = rng.permutation(n)[:min(n - 1, max(1, round(n * fraction)))]
    else:
        parts = []
        for cls in np.unique(labels):
            members = np.flatnonzero(labels == cls)
            rng.shuffle(members)
            parts.append(members[:min(len(members) - 1, round(len(members) * fraction))])
        val = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    return np.flatnonzero(mask).astype(np.int64), np.sort(val).astype(np.int64)


def split_rows(n: int, labels: np.ndarray | None, data: dict):
    """NetStudio's training and validation rows: test_split rows held out first, then the
    validation_split of all the rows taken from the rest (the test rows are not used here)."""
    validation, test = float(data.get("validation_split", 0.2)), float(data.get("test_split", 0.0))
    seed = int(data.get("seed", 0))
    if test <= 0:
        return split_indices(n, labels, validation, seed)
    rest, _ = split_indices(n, labels, test, seed)
    train, val = split_indices(len(rest), None if labels is None else labels[rest],
                               min(validation / (1.0 - test), 1.0), seed + 1)
    return rest[train], rest[val]


def make_loss(meta: dict, training: dict, y_train: torch.Tensor, device):
    """The loss; with class_weights "auto", each class weighted N / (K * n_c) over the training
    rows, the loss being the weighted mean over a batch (as CrossEntropyLoss(weight=...))."""
    name = meta["loss"]
    if training.get("class_weights") != "auto" or meta["task"] == "regression":
        return LOSSES[name]()
    k = len(meta["classes"])
    counts = np.bincount(y_train.reshape(-1).long().cpu().numpy(), minlength=k)[:k]
    weights = np.ones(k, dtype=np.float64)
    weights[counts > 0] = counts.sum() / (k * counts[counts > 0])
    weight = torch.as_tensor(weights.astype(np.float32), device=device)
    if name in ("cross_entropy", "nll"):
        return LOSSES[name](weight=weight)
    base = LOSSES[name](reduction="none")

    def weighted(output, target):
        w = weight[target.long()]
        return (base(output, target) * w).sum() / w.sum()

    return weighted


def targets(y: np.ndarray, meta: dict) -> torch.Tensor:
    """What the loss expects: class indices, a float column [N, 1], or standardised values."""
    if meta["task"] == "regression":
        scaled = (np.asarray(y, dtype=np.float64) - meta["target_mean"]) / meta["target_std"]
        return torch.from_numpy(scaled.astype(np.float32)).reshape(-1, 1)
    if meta["loss"] in ("cross_entropy", "nll"):
        return torch.from_numpy(np.asarray(y, dtype=np.int64))
    return torch.from_numpy(np.asarray(y, dtype=np.float32)).reshape(-1, 1)


# ------------------------------------------------------------------------------------------------
# The training loop (NetStudio's Trainer, without the window's pause/stop)


def fit(net, X, y, Xv, yv, meta, training, epochs, device, rank, world, say) -> dict:
    seed, batch = int(training["seed"]), int(training["batch_size"])
    torch.manual_seed(seed + rank)
    generator = torch.Generator().manual_seed(seed)
    loss_fn = make_loss(meta, training, y, device)
    optimizer = make_optimizer(net, training)
    n = X.shape[0]
    shard = math.ceil(n / world)
    steps = max(1, math.ceil(shard / batch))
    scheduler = make_scheduler(optimizer, training, epochs, steps)
    model = net
    if world > 1:  # gradients are averaged across the processes during backward()
        model = DistributedDataParallel(net, device_ids=[device] if device.type == "cuda" else None)
    stopping = training.get("early_stopping") or {}
    patience, min_delta = stopping.get("patience"), float(stopping.get("min_delta", 0.0))
    best_score, best_state, since_best = math.inf, copy.deepcopy(net.state_dict()), 0
    stopped = False
    for epoch in range(1, epochs + 1):
        perm = epoch_order(n, generator, device, rank, world, shard)
        total = train_epoch(model, X.index_select(0, perm), y.index_select(0, perm), steps, batch,
                            loss_fn, optimizer, scheduler, training, device)
        if world > 1:
            dist.all_reduce(total)
        train_loss = (total[0] / total[1]).item()
        val_loss, metrics = evaluate(net, Xv, yv, loss_fn, meta) if len(Xv) else (None, {})
        if training["scheduler"] == "plateau":
            scheduler.step(val_loss if val_loss is not None else train_loss)
        elif scheduler is not None and training["scheduler"] != "onecycle":
            scheduler.step()
        shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        say(f"epoch {epoch}/{epochs}  train_loss {train_loss:.6f}  val_loss "
            f"{'-' if val_loss is None else f'{val_loss:.6f}'}  {shown}".rstrip(), flush=True)
        score = val_loss if val_loss is not None else train_loss
        if not math.isfinite(score):
            say(f"training diverged at epoch {epoch}: keeping the best weights")
            stopped = True
            break
        if score < best_score - min_delta:
            best_score, best_state, since_best = score, copy.deepcopy(net.state_dict()), 0
        else:
            since_best += 1
            if patience is not None and since_best >= patience:
                say(f"early stopping after epoch {epoch}: restoring the best weights")
                stopped = True
                break
    return best_state if stopped else net.state_dict()


def epoch_order(n: int, generator, device, rank: int, world: int, shard: int) -> torch.Tensor:
    """This process's samples for one epoch: one shuffled order for all the processes, padded by
    repeating its start (as DistributedSampler), then every world-th index."""
    perm = torch.randperm(n, generator=generator).to(device)
    if world > 1:
        extra = world * shard - n
        perm = torch.cat([perm, perm.repeat(math.ceil(extra / n) + 1)[:extra]])[rank::world]
    return perm


def train_epoch(model, Xp, yp, steps: int, batch: int, loss_fn, optimizer, scheduler,
                training: dict, device) -> torch.Tensor:
    """One pass over the shuffled samples: [sum of losses times batch sizes, samples]."""
    model.train()
    total = torch.zeros(2, device=device)
    for step in range(steps):
        xb, yb = Xp[step * batch:(step + 1) * batch], yp[step * batch:(step + 1) * batch]
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if training.get("gradient_clip"):
            nn.utils.clip_grad_norm_(model.parameters(), training["gradient_clip"])
        optimizer.step()
        if training["scheduler"] == "onecycle" and \
                scheduler.last_epoch + 1 < scheduler.total_steps:
            scheduler.step()
        size = torch.tensor(float(len(xb)), device=device)
        total += torch.stack([loss.detach() * size, size])
    return total


def evaluate(net, X, y, loss_fn, meta) -> tuple[float, dict]:
    net.eval()
    size = max(1, min(65536, 2**22 // max(1, math.prod(X.shape[1:]))))
    with torch.no_grad():
        out = torch.cat([net(X[i:i + size]) for i in range(0, X.shape[0], size)])
        loss = loss_fn(out, y).item()
        if meta["task"] == "regression":
            pred, true = out.reshape(-1), y.reshape(-1)
            res = torch.sum((true - pred) ** 2).item()
            tot = torch.sum((true - true.mean()) ** 2).item()
            mae = torch.mean(torch.abs(true - pred)).item() * meta["target_std"]
            return loss, {"val_r2": 1.0 - res / tot if tot > 0 else 0.0, "val_mae": mae}
        transform = meta["output_transform"]
        if transform in ("sigmoid", "binary_identity"):
            p = torch.sigmoid(out) if transform == "sigmoid" else out.clamp(0, 1)
            out = torch.cat([1 - p, p], dim=1)
        accuracy = (out.argmax(dim=1) == y.reshape(-1).long()).float().mean().item()
        return loss, {"val_accuracy": accuracy}


def make_optimizer(net, t: dict):
    params = [p for p in net.parameters() if p.requires_grad]
    kwargs = {"lr": t["learning_rate"], "weight_decay": t["weight_decay"]}
    if t["optimizer"] == "sgd":
        cls = torch.optim.SGD
        kwargs.update(momentum=t["momentum"], nesterov=bool(t["nesterov"]) and t["momentum"] > 0)
    else:
        cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop,
               "adagrad": torch.optim.Adagrad}[t["optimizer"]]
    try:  # fused kernels, as NetStudio uses where they exist
        return cls(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, **kwargs)


def make_scheduler(optimizer, t: dict, epochs: int, steps: int):
    name = t["scheduler"]
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, t["step_size"], gamma=t["gamma"])
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "onecycle":
        momentum = "betas" in optimizer.defaults or "momentum" in optimizer.defaults
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=t["learning_rate"], epochs=epochs, steps_per_epoch=steps,
            cycle_momentum=momentum)
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=t["gamma"],
                                                          patience=max(1, t["step_size"] // 2))
    return None


if __name__ == "__main__":
    main()
