"""data.augment: random flips, rotations, shifts, brightness and contrast of training batches only."""

import numpy as np
import pytest
import torch

from netstudio.core.config import validate_data
from netstudio.core.data.load import load_dataset
from netstudio.core.errors import ProjectError
from netstudio.core.project import load_project
from netstudio.core.training.augment import Augmenter, is_active, preview
from netstudio.core.training.session import prepare_session
from tests.conftest import REPO


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return load_dataset(validate_data({"source": "images", "path": str(REPO / "samples" / "shapes")}),
                        tmp_path_factory.mktemp("shapes"))


def test_the_augment_section_is_checked_and_filled(repo):
    data = validate_data({"source": "images", "path": "x", "augment": {"hflip": True, "rotate": 10}})
    assert data["augment"] == {"hflip": True, "vflip": False, "rotate": 10, "shift": 0.0, "brightness": 0.0,
                               "contrast": 0.0}
    assert is_active(data["augment"]) and "augment" not in validate_data({"source": "images", "path": "x"})
    with pytest.raises(ProjectError, match=r"data.augment.rotate: must be a number ≥ 0 and ≤ 180"):
        validate_data({"source": "images", "path": "x", "augment": {"rotate": 200}})
    with pytest.raises(ProjectError, match="data.augment.brightness"):
        validate_data({"source": "images", "path": "x", "augment": {"brightness": 1.5}})


def test_flips_change_about_half_the_images_exactly(shapes):
    X = torch.as_tensor(shapes.X_train[:64])
    out = Augmenter({"hflip": True}, shapes.preprocessor, "cpu", seed=0)(X)
    flipped = torch.tensor([torch.equal(o, x.flip(-1)) for o, x in zip(out, X)])
    same = torch.tensor([torch.equal(o, x) for o, x in zip(out, X)])
    assert bool((flipped | same).all()) and 16 < int(flipped.sum()) < 48
    again = Augmenter({"hflip": True}, shapes.preprocessor, "cpu", seed=0)(X)
    assert torch.equal(out, again)  # seeded


def test_rotation_shift_brightness_and_contrast_stay_in_the_pixel_range(shapes):
    X = torch.as_tensor(shapes.X_train[:32])
    augmenter = Augmenter({"rotate": 30, "shift": 3, "brightness": 0.5, "contrast": 0.5}, shapes.preprocessor,
                          "cpu", seed=1)
    out = augmenter(X)
    assert out.shape == X.shape and not torch.allclose(out, X)
    assert bool((out >= augmenter.low - 1e-5).all() and (out <= augmenter.high + 1e-5).all())
    # A shift of whole pixels with no rotation moves the picture: same values, other places.
    moved = Augmenter({"shift": 2}, shapes.preprocessor, "cpu", seed=2)(X)
    assert not torch.allclose(moved, X)
    # Brightness alone scales the pixels of each image by one factor.
    bright = Augmenter({"brightness": 0.3}, shapes.preprocessor, "cpu", seed=3)
    pixels = X * bright.std + bright.mean
    scaled = bright(X) * bright.std + bright.mean
    inside = (scaled > 1e-3) & (scaled < 1 - 1e-3) & (pixels > 1e-3)
    ratios = [float((s[m] / p[m]).std()) for s, p, m in zip(scaled, pixels, inside) if m.sum() > 5]
    assert ratios and max(ratios) < 1e-3


def test_training_batches_are_augmented_validation_never_and_labels_follow(repo, tmp_path):
    project = load_project(repo / "samples" / "shapes.nsproj")
    project.data = validate_data({**project.data, "path": str(repo / "samples" / "shapes"),
                                  "augment": {"hflip": True, "vflip": True}})
    project.training.update(epochs=2, device="cpu", batch_size=32)
    session = prepare_session(project)
    seen = {"train": [], "eval": []}
    session.model.register_forward_pre_hook(
        lambda module, args: seen["train" if module.training else "eval"].append(args[0].detach().clone()))
    summary = session.fit()
    assert summary.ok and session.trainer.augmenter is not None
    data = session.dataset
    train = torch.cat(seen["train"])
    assert len(train) == 2 * data.n_train
    # Every training input is one training image, perhaps flipped: each epoch holds every image once.
    rows = {bytes(x.numpy()): i for i, x in enumerate(torch.as_tensor(data.X_train))}
    found, changed = [], 0
    for x in train:
        for variant, flips in ((x, 0), (x.flip(-1), 1), (x.flip(-2), 1), (x.flip(-1).flip(-2), 1)):
            if bytes(variant.contiguous().numpy()) in rows:
                found.append(rows[bytes(variant.contiguous().numpy())])
                changed += flips
                break
    assert len(found) == len(train) and changed > len(train) // 4
    assert sorted(found[:data.n_train]) == list(range(data.n_train))
    # Validation (each epoch's evaluation) sees the validation images exactly as they are.
    val = torch.as_tensor(data.X_val)
    assert any(len(e) == len(val) and torch.equal(e, val) for e in seen["eval"])
    assert all(torch.equal(e, val[:len(e)]) or len(e) != len(val) for e in seen["eval"])
    # The batches pair each image with its own label: the loss on flipped shapes stays learnable
    # and the augmenter only ever gets images (the labels are sliced beside them, untouched).
    assert summary.history[-1].train_loss < summary.history[0].train_loss * 1.5


def test_augment_on_data_that_is_not_images_is_refused(repo):
    project = load_project(repo / "samples" / "iris.nsproj")
    project.data = {**project.data, "path": str(repo / "samples" / "iris.csv"), "augment": {"hflip": True}}
    project.training.update(device="cpu")
    with pytest.raises(ProjectError, match="data.augment: changes images, but this data is not images"):
        prepare_session(project)


def test_the_preview_shows_originals_and_augmented_pixels(shapes):
    originals, augmented = preview(shapes, {"rotate": 40, "hflip": True}, count=12, seed=0)
    assert originals.shape == augmented.shape == (12, *shapes.input_shape)
    assert originals.dtype == augmented.dtype == np.uint8 and not np.array_equal(originals, augmented)
