"""``data.augment``: random changes to each training batch of images, on the device.

:class:`Augmenter` works on a batch ``[B, C, H, W]`` of preprocessed (standardised) images with
batched tensor ops: one flip mask per kind, one ``affine_grid`` / ``grid_sample`` for rotation and
shift together (edges repeat the border pixels), and brightness and contrast as per-image affine
maps of the pixel values, done in the standardised units (``x * (1 + u) + mean * u / std`` is the
pixel scaled by ``1 + u``), then clipped to the pixel range. Labels are untouched. Each sample
gets its own random values from the augmenter's generator (seeded from the training seed), so
two runs with the same seed and device see the same batches. Only training batches are
augmented; validation, test and prediction never are.
"""

from __future__ import annotations

import math

import numpy as np

#: The keys of ``data.augment`` that change anything, with their neutral value.
NEUTRAL = {"hflip": False, "vflip": False, "rotate": 0.0, "shift": 0.0, "brightness": 0.0, "contrast": 0.0}


def is_active(augment: dict | None) -> bool:
    """Whether *augment* (a ``data.augment`` section) changes anything."""
    return bool(augment) and any(augment.get(k, v) != v for k, v in NEUTRAL.items())


class Augmenter:
    """Callable ``augmenter(batch) -> batch`` for preprocessed images ``[B, C, H, W]`` on *device*."""

    def __init__(self, augment: dict, preprocessor, device, seed: int):
        import torch

        self.settings = {k: augment.get(k, v) for k, v in NEUTRAL.items()}
        self.device = device
        self.generator = torch.Generator(device=device).manual_seed(int(seed))
        channels = preprocessor.stat_shape[0] if preprocessor is not None else 1
        mean = np.asarray(preprocessor.mean if preprocessor is not None else 0.0, dtype=np.float32)
        std = np.asarray(preprocessor.std if preprocessor is not None else 1.0, dtype=np.float32)
        # Per-channel statistics (images are standardised per channel: [C, 1, 1] or [C, H, W]).
        mean = mean.reshape(channels, -1).mean(axis=1) if mean.size > 1 else np.full(channels, float(mean))
        std = std.reshape(channels, -1).mean(axis=1) if std.size > 1 else np.full(channels, float(std))
        top = 255.0 / preprocessor.divide_by if preprocessor is not None and preprocessor.divide_by else 1.0
        shape = (1, channels, 1, 1)
        self.mean = torch.as_tensor(mean, device=device).reshape(shape)
        self.std = torch.as_tensor(std, device=device).reshape(shape)
        self.low = (0.0 - self.mean) / self.std  # pixel 0 and the brightest pixel, standardised
        self.high = (top - self.mean) / self.std

    def _uniform(self, n: int, span: float):
        """*n* values uniform in ``[-span, span]``."""
        import torch

        return (torch.rand(n, generator=self.generator, device=self.device) * 2 - 1) * span

    def _coin(self, n: int):
        import torch

        return torch.rand(n, generator=self.generator, device=self.device) < 0.5

    def __call__(self, x):
        import torch
        import torch.nn.functional as F

        s, n = self.settings, x.shape[0]
        if n == 0:
            return x
        if s["hflip"]:
            x = torch.where(self._coin(n).view(-1, 1, 1, 1), x.flip(-1), x)
        if s["vflip"]:
            x = torch.where(self._coin(n).view(-1, 1, 1, 1), x.flip(-2), x)
        if s["rotate"] or s["shift"]:
            h, w = x.shape[-2:]
            angle = self._uniform(n, math.radians(s["rotate"]))
            tx, ty = self._uniform(n, 2 * s["shift"] / w), self._uniform(n, 2 * s["shift"] / h)
            cos, sin = torch.cos(angle), torch.sin(angle)
            theta = torch.stack([torch.stack([cos, -sin * h / w, tx], 1), torch.stack([sin * w / h, cos, ty], 1)], 1)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if s["brightness"] or s["contrast"]:
            pixels = x * self.std + self.mean
            if s["brightness"]:
                pixels = pixels * (1 + self._uniform(n, s["brightness"])).view(-1, 1, 1, 1)
            if s["contrast"]:
                centre = pixels.mean(dim=(1, 2, 3), keepdim=True)
                pixels = (pixels - centre) * (1 + self._uniform(n, s["contrast"])).view(-1, 1, 1, 1) + centre
            x = torch.maximum(torch.minimum((pixels - self.mean) / self.std, self.high), self.low)
        return x


def make_augmenter(augment: dict | None, dataset, device, seed: int) -> Augmenter | None:
    """An :class:`Augmenter` for an image dataset whose ``data.augment`` changes anything, else None."""
    if not is_active(augment) or len(dataset.input_shape) != 3:
        return None
    return Augmenter(augment, dataset.preprocessor, device, seed)


def preview(dataset, augment: dict, count: int = 16, seed: int = 0, draw: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(originals, augmented)``: *count* training images (chosen by *seed*) as 8-bit pixels
    ``[N, C, H, W]``, and the same images through the augmenter (the Data panel's preview grid);
    each *draw* number gives other random changes of the same images."""
    import torch

    from netstudio.core.training.evaluation import sample_images

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(dataset.n_train, size=min(count, dataset.n_train), replace=False))
    X = dataset.X_train[rows]
    augmenter = Augmenter(augment, dataset.preprocessor, "cpu", seed * 1000 + draw)
    with torch.no_grad():
        changed = augmenter(torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)).numpy()
    return sample_images(dataset, X), sample_images(dataset, changed)
