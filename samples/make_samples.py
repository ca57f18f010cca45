"""Regenerate the generated bundled samples (house-prices.csv, first-network.csv, shapes/, energy-load.csv,
reviews.csv).

``python samples/make_samples.py`` writes them beside this file, byte for byte the same every time
(fixed seeds). iris.csv is not generated: it is Fisher's iris data (see README.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def house_prices(path: Path, rows: int = 400) -> None:
    """A house-price-like regression table with the mess real exports have."""
    rng = np.random.default_rng(2024)
    hoods = np.array(["Centre", "Riverside", "Hillside", "Suburbs"])
    premium = {"Centre": 1.35, "Riverside": 1.15, "Hillside": 1.0, "Suburbs": 0.85}
    hood = rng.choice(hoods, rows, p=[0.2, 0.25, 0.25, 0.3])
    area = np.round(rng.gamma(6.0, 16.0, rows) + 25, 1)
    rooms = np.clip(np.round(area / 28 + rng.normal(0, 0.7, rows)), 1, 8).astype(int)
    year = rng.integers(1952, 2023, rows)
    distance = np.round(np.abs(rng.normal(0, 1, rows)) * 6 + np.where(hood == "Centre", 0.3, 2.0), 2)
    garage = rng.random(rows) < np.where(hood == "Centre", 0.2, 0.6)
    labels = np.array(list("ABCDEFG"))
    energy = labels[np.clip(((2023 - year) / 12 + rng.normal(0, 1, rows)).astype(int), 0, 6)]
    price = (area * 2.6 * np.vectorize(premium.get)(hood) + rooms * 9 - distance * 4.5
             + (year - 1950) * 0.6 + garage * 18 - (energy.view(np.int32) - ord("A")) * 6
             + rng.normal(0, 18, rows))
    price = np.round(np.maximum(price, 40.0), 1)
    lines = ["listing_id,area_m2,rooms,year_built,distance_km,neighbourhood,garage,energy_label,price_keur"]
    for i in range(rows):
        cells = [f"L-{10457 + i * 7}", f"{area[i]}", f"{rooms[i]}", f"{year[i]}", f"{distance[i]}", hood[i],
                 "yes" if garage[i] else "no", energy[i], f"{price[i]}"]
        if rng.random() < 0.04:
            cells[1] = ""          # area not recorded
        if rng.random() < 0.03:
            cells[3] = "?"         # year unknown
        if rng.random() < 0.05:
            cells[7] = ""          # no energy certificate
        if rng.random() < 0.02:
            cells[8] = ""          # not sold yet: no target, the row is dropped
        if rng.random() < 0.05:
            cells[5] = f" {cells[5]} "  # stray spaces from a hand-edited sheet
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def first_network(path: Path, rows: int = 1000) -> None:
    """Ten features, a binary label from a noisy linear rule: the classic first network's data."""
    rng = np.random.default_rng(10)
    X = rng.normal(0, 1, (rows, 10))
    w = rng.normal(0, 1, 10)
    label = (X @ w + 0.5 * np.sin(3 * X[:, 0]) + rng.normal(0, 0.5, rows) > 0).astype(int)
    lines = [",".join([f"x{i + 1}" for i in range(10)] + ["label"])]
    lines += [",".join([f"{v:.4f}" for v in X[r]] + [str(label[r])]) for r in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def shapes(folder: Path, per_class: int = 80, size: int = 32) -> None:
    """Small RGB PNGs of circles, squares and triangles in random colours, sizes and places."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(7)
    shutil.rmtree(folder, ignore_errors=True)
    for label in ("circle", "square", "triangle"):
        (folder / label).mkdir(parents=True)
        for i in range(per_class):
            background = tuple(int(v) for v in rng.integers(170, 256, 3))
            colour = tuple(int(v) for v in rng.integers(0, 150, 3))
            image = Image.new("RGB", (size, size), background)
            draw = ImageDraw.Draw(image)
            r = rng.uniform(6, 12)
            cx, cy = rng.uniform(r + 1, size - r - 1, 2)
            if label == "circle":
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
            elif label == "square":
                draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
            else:
                turn = rng.uniform(0, 2 * np.pi)
                points = [(cx + r * np.cos(turn + k * 2 * np.pi / 3), cy + r * np.sin(turn + k * 2 * np.pi / 3))
                          for k in range(3)]
                draw.polygon(points, fill=colour)
            image.save(folder / label / f"{label}_{i:03d}.png", optimize=True)


def energy_load(path: Path, days: int = 42) -> None:
    """An hourly electricity load with a daily and a weekly season, a temperature it follows, and
    slowly wandering noise: a time series to forecast one hour ahead."""
    rng = np.random.default_rng(42)
    hours = np.arange(days * 24)
    hour, weekday = hours % 24, (hours // 24) % 7
    temperature = (8 + 6 * np.sin(2 * np.pi * (hour - 9) / 24) + 3 * np.sin(2 * np.pi * hours / (24 * 9))
                   + rng.normal(0, 0.8, len(hours)))
    daily = 60 * np.exp(-((hour - 8) ** 2) / 6) + 80 * np.exp(-((hour - 19) ** 2) / 8)
    weekly = np.where(weekday >= 5, -45.0, 0.0)
    drift = np.zeros(len(hours))
    for t in range(1, len(hours)):  # AR(1) noise: the part only recent hours tell
        drift[t] = 0.9 * drift[t - 1] + rng.normal(0, 6)
    load = 420 + daily + weekly - 4.0 * (temperature - 8) + drift
    lines = ["timestamp,temperature_c,load_mw"]
    for t in hours:
        day = np.datetime64("2024-01-01T00") + np.timedelta64(int(t), "h")
        stamp = str(day).replace("T", " ") + ":00"
        lines.append(f"{stamp},{temperature[t]:.1f},{load[t]:.1f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


#: The reviews' words: what each clause is about, its verb, the words that make it good or bad.
SUBJECTS = ("the film", "this movie", "the plot", "the acting", "the soundtrack", "the ending", "the cast",
            "the script", "the pacing", "the photography", "the dialogue", "the story")
VERBS = ("was", "is", "felt", "seemed", "looked")
POSITIVE = ("great", "wonderful", "brilliant", "moving", "funny", "gripping", "beautiful", "clever", "charming",
            "superb")
NEGATIVE = ("boring", "awful", "dull", "clumsy", "predictable", "tedious", "weak", "confusing", "flat", "messy")
OPENERS = ("", "", "", "honestly, ", "overall ", "to be fair ", "i think ", "for me ", "in the end ")
JOINS = (" and ", ", but ", ". ", " while ", "; ")


def reviews(path: Path, rows: int = 600) -> None:
    """Short film reviews whose sentiment follows a known rule.

    Each review has one or three clauses ("the plot was not gripping"); a clause counts +1 with a
    positive word, -1 with a negative one, flipped by a "not" before it (a fifth of them). The
    review is positive when the sum is above zero (an odd number of clauses: never a tie), so
    a model must read the words and the "not" before them, not the review's length.
    """
    rng = np.random.default_rng(22)
    lines = ["review,sentiment"]
    for _ in range(rows):
        clauses, score = [], 0
        for _ in range(int(rng.choice([1, 3], p=[0.45, 0.55]))):
            good = bool(rng.random() < 0.5)
            negated = bool(rng.random() < 0.2)
            word = str(rng.choice(POSITIVE if good else NEGATIVE))
            adverb = str(rng.choice(("", "", "really ", "quite ", "very ")))
            clauses.append(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {'not ' if negated else ''}{adverb}{word}")
            score += (1 if good else -1) * (-1 if negated else 1)
        text = str(rng.choice(OPENERS)) + clauses[0]
        for clause in clauses[1:]:
            text += str(rng.choice(JOINS)) + clause
        lines.append(f'"{text}",{"positive" if score > 0 else "negative"}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    house_prices(HERE / "house-prices.csv")
    first_network(HERE / "first-network.csv")
    shapes(HERE / "shapes")
    energy_load(HERE / "energy-load.csv")
    reviews(HERE / "reviews.csv")
