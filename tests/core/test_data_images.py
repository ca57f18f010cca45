"""Image folders on real files written by each test (PNG, JPEG, GIF, BMP, WebP)."""

import numpy as np
import pytest
import torch
from PIL import Image

from netstudio.core.data.load import describe_data, load_dataset
from netstudio.core.data.model_inputs import read_image
from netstudio.core.data.preprocess import Preprocessor
from netstudio.core.errors import DataError


def make_folder(root, classes=("cats", "dogs"), per_class=6, size=(12, 10), mode="RGB", ext=".png"):
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            pixels = rng.integers(0, 256, shape).astype(np.uint8)
            pixels[..., :] = np.clip(pixels.astype(int) // 2 + 100 * c, 0, 255)
            Image.fromarray(pixels, mode).save(root / name / f"{i}{ext}")
    return root


def images(root, **config):
    return {"source": "images", "path": str(root), "validation_split": 0.25, "seed": 0, "task": "auto",
            "normalize": True, **config}


def test_rgb_folder_loads_as_nchw_standardised(tmp_path):
    make_folder(tmp_path / "pets", size=(12, 10))
    data = load_dataset(images(tmp_path / "pets"), tmp_path)
    assert data.input_shape == (3, 10, 12) and data.X_train.dtype == np.float32
    assert data.classes == ["cats", "dogs"] and data.task == "binary" and data.output_width == 1
    assert data.n_train == 8 and data.n_val == 4 and np.bincount(data.y_val).tolist() == [2, 2]
    np.testing.assert_allclose(data.X_train.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(data.X_train.std(axis=(0, 2, 3)), 1, atol=1e-3)
    assert data.feature_names == [] and data.summary.class_counts == {"cats": 6, "dogs": 6}
    assert describe_data(images(tmp_path / "pets"), tmp_path) == ((3, 10, 12), 1, "binary", ["cats", "dogs"])


def test_all_grayscale_means_one_channel_and_color_can_be_forced(tmp_path):
    make_folder(tmp_path / "digits", classes=("0", "1", "2"), mode="L", size=(8, 8))
    data = load_dataset(images(tmp_path / "digits"), tmp_path)
    assert data.input_shape == (1, 8, 8) and data.task == "multiclass" and data.output_width == 3
    forced = load_dataset(images(tmp_path / "digits", color="rgb", image_size=[4, 6]), tmp_path)
    assert forced.input_shape == (3, 4, 6)


def test_every_format_mixed_sizes_and_the_most_common_size(tmp_path):
    root = tmp_path / "mixed"
    make_folder(root, classes=("a", "b"), per_class=3, size=(16, 16), ext=".png")
    for ext in (".jpg", ".jpeg", ".bmp", ".gif", ".webp"):
        Image.new("RGB", (20, 30), (10, 200, 30)).save(root / "a" / f"x{ext}")
    Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(root / "b" / "transparent.png")
    Image.new("L", (16, 16), 7).save(root / "b" / "gray.png")
    data = load_dataset(images(root, validation_split=0.0), tmp_path)
    assert data.n_train == 13 and data.input_shape == (3, 16, 16)
    assert "2 different sizes" in data.summary.notes[0]


def test_hidden_non_image_and_unreadable_files(tmp_path):
    root = make_folder(tmp_path / "pets")
    (root / "cats" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (root / "cats" / "._0.png").write_bytes(b"resource fork")
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    Image.new("RGB", (12, 10)).save(root / ".hidden" / "x.png")
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    good = Image.new("RGB", (12, 10), (1, 2, 3))
    good.save(root / "dogs" / "truncated.jpg")
    data = (root / "dogs" / "truncated.jpg").read_bytes()
    (root / "dogs" / "truncated.jpg").write_bytes(data[: len(data) // 2])
    loaded = load_dataset(images(root, validation_split=0.0), tmp_path)
    assert loaded.classes == ["cats", "dogs"] and loaded.n_train == 12
    warning = loaded.summary.warnings[0]
    assert "2 unreadable image files skipped" in warning and "broken.png" in warning and "truncated.jpg" in warning


def test_progress_reaches_the_total(tmp_path):
    make_folder(tmp_path / "pets", per_class=20)
    calls = []
    load_dataset(images(tmp_path / "pets"), tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (40, 40) and all(total == 40 for _, total in calls)


def test_raw_pixels_through_the_module_match_the_training_arrays(tmp_path):
    root = make_folder(tmp_path / "pets", size=(9, 7))
    data = load_dataset(images(root, validation_split=0.0), tmp_path)
    pre = Preprocessor.from_json(data.preprocessor.to_json())
    paths = sorted((root / "cats").glob("*.png")) + sorted((root / "dogs").glob("*.png"))
    np.testing.assert_array_equal(pre.transform_images(paths), data.X_train)
    raw = pre.encode_images(paths)
    assert raw.max() > 1.0 and raw.shape == (12, 3, 7, 9)
    with torch.no_grad():
        out = pre.as_module()(torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(out, data.X_train, rtol=0, atol=1e-6)
    assert pre.raw_input()["shape"] == ["N", 3, 7, 9]


def test_read_image_resizes_and_composites_transparency_on_white(tmp_path):
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(tmp_path / "t.png")
    pixels = read_image(tmp_path / "t.png", (2, 3), "rgb")
    assert pixels.shape == (3, 2, 3) and pixels.dtype == np.uint8 and (pixels == 255).all()
    gray = read_image(tmp_path / "t.png", (4, 4), "grayscale")
    assert gray.shape == (1, 4, 4)


@pytest.mark.parametrize("setup, needle", [
    (lambda root: None, "no such folder"),
    (lambda root: root.write_text("x"), "is a file"),
    (lambda root: root.mkdir(), "no class sub-folders"),
    (lambda root: make_folder(root, classes=("only",)), "only one class sub-folder with images ('only')"),
    (lambda root: (make_folder(root, classes=("a",)), (root / "b").mkdir()), "only one class sub-folder"),
    (lambda root: ((root / "a").mkdir(parents=True), (root / "b").mkdir(), (root / "a" / "x.png").write_bytes(b"no"),
                   (root / "b" / "y.png").write_bytes(b"no")), "none of the 2 image files could be read"),
    (lambda root: (make_folder(root / "train"), make_folder(root / "test")), "point data.path at the training folder"),
])
def test_bad_folders_are_one_line_errors(tmp_path, setup, needle):
    root = tmp_path / "images"
    setup(root)
    with pytest.raises(DataError) as info:
        load_dataset(images(root), tmp_path)
    message = str(info.value)
    assert needle in message and "\n" not in message and str(root) in message


def test_task_overrides_on_a_folder(tmp_path):
    root = make_folder(tmp_path / "abc", classes=("a", "b", "c"), per_class=4)
    assert load_dataset(images(root, task="multiclass"), tmp_path).task == "multiclass"
    for task, needle in (("binary", "3 class folders, but data.task is binary"), ("regression", "regression needs")):
        for call in (load_dataset, describe_data):
            with pytest.raises(DataError, match=needle):
                call(images(root, task=task), tmp_path)
