"""Where explanations point: the pointing game on digits placed on a noisy canvas.

    KERAS_BACKEND=jax python -m benchmarks.localisation [--seeds 0 1 2] [--epochs 6] \\
        [--figure PATH] [--json PATH]

Each of scikit-learn's 1,797 digit scans (8x8) is scaled 2x and placed at a
random spot of a 32x32 canvas of uniform noise (the digit's strokes drawn
over it); its box is where it lies. A NesT with the CIFAR models' tree
(32x32 input, 3 levels, a 4x4 grid of leaf blocks, multi-query attention),
patch 2 and width 64 so that it trains in about a minute on a CPU, learns
the digit class with ``model.fit`` on 1,400 digits (fresh placements every
epoch) and is explained on the other 397. An explanation scores a hit when
the centre of its heatmap's maximum lies in the digit's box (the pointing
game); a random point hits as often as the box's share of the canvas.

Methods: GradCAT with each block score (``keras_nest.explain.gradcat``'s
``score``), Grad-CAM on NesT's final feature map, and random points. The
table (mean and range over ``--seeds``, each a separately trained model) is
printed with the machine and written as JSON (default
``benchmarks/results/localisation.json``); the figure shows GradCAT and
Grad-CAM on the first validation images of the last seed.
"""

import argparse
import json
import os
import time

import keras
import numpy as np

import keras_nest
from benchmarks.dynamic_inference import machine
from benchmarks.report import REPO
from keras_nest import explain
from keras_nest.explain.gradcat import SCORES

CANVAS, SCALE, NOISE = 32, 2, 0.3
TRAIN_DIGITS = 1400


def noisy_canvas(digits, labels, seed, canvas=CANVAS, scale=SCALE, noise=NOISE):
    """Digits scaled by ``scale`` at random spots of a noise canvas.

    Args:
        digits: ``(n, 8, 8)`` scans in scikit-learn's 0-16 range.
        labels: ``(n,)`` their classes.
        seed: of the noise and the placements.

    Returns:
        ``(images, labels, boxes)``: ``(n, canvas, canvas, 3)`` float32 in
        [-1, 1] (noise uniform in [0, noise], the digit's pixels the larger of
        digit and noise), the labels, and ``(n, 4)`` boxes (top, left,
        bottom, right) with bottom and right exclusive.
    """
    rng = np.random.default_rng(seed)
    digits = np.kron(np.asarray(digits, "float32") / 16.0, np.ones((scale, scale), "float32"))
    count, size = len(digits), digits.shape[1]
    images = rng.uniform(0, noise, (count, canvas, canvas)).astype("float32")
    corners = rng.integers(0, canvas - size + 1, (count, 2))
    for image, digit, (top, left) in zip(images, digits, corners):
        window = image[top : top + size, left : left + size]
        np.maximum(window, digit, out=window)
    boxes = np.concatenate([corners, corners + size], axis=1)
    images = np.repeat(images[..., None] * 2 - 1, 3, axis=-1)
    return images, np.asarray(labels), boxes


def digit_split(seed=0):
    """scikit-learn's digits shuffled by ``seed``: ``(train, val)``, each ``(scans, labels)``."""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(seed).permutation(len(data.target))
    train, val = order[:TRAIN_DIGITS], order[TRAIN_DIGITS:]
    return (data.images[train], data.target[train]), (data.images[val], data.target[val])


def localisation_nest(seed, width=64, canvas=CANVAS):
    """The benchmark's NesT: 3 levels of one layer, 4x4 leaf blocks of 4x4 patches of 2x2."""
    keras.utils.set_random_seed(seed)
    return keras_nest.Nest(
        depths=(1, 1, 1),
        embed_dims=width,
        num_heads=4,
        patch_size=2,
        block_size=canvas // 8,
        attention="multi_query",
        input_shape=(canvas, canvas, 3),
        classes=10,
        name="nest_localisation",
    )


def train(model, train_digits, epochs, seed, copies=2, batch_size=32, learning_rate=2e-3):
    """``model.fit`` on ``copies`` placements of each training digit, new ones every epoch
    (AdamW, 10% linear warm-up then cosine decay). Returns the last epoch's accuracy."""
    scans, labels = train_digits
    steps = epochs * (-(-copies * len(labels) // batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=learning_rate, warmup_steps=steps // 10
    )
    model.compile(
        keras_nest.training.AdamW(schedule, weight_decay=0.05),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    for epoch in range(epochs):
        images, targets, _ = noisy_canvas(
            np.tile(scans, (copies, 1, 1)), np.tile(labels, copies), seed=1000 * seed + epoch
        )
        history = model.fit(images, targets, batch_size=batch_size, epochs=1, verbose=0)
    return history.history["accuracy"][-1]


def explanations(model, images):
    """``{method: Explanation}`` for every method the table compares."""
    results = {
        f"gradcat ({score})": explain.gradcat(model, images, score=score) for score in SCORES
    }
    results["gradcam"] = explain.gradcam(model, images)
    return results


def pointing_table(model, images, labels, boxes):
    """``{method: hit rate}`` over ``images``, "random" the mean box share, and
    "accuracy" the model's."""
    table = {
        method: float(explain.pointing_game(result.heatmaps, boxes).mean())
        for method, result in explanations(model, images).items()
    }
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    table["random"] = float(areas.mean() / (images.shape[1] * images.shape[2]))
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    table["accuracy"] = float((predicted == labels).mean())
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument(
        "--figure", default=os.path.join(REPO, "benchmarks", "results", "localisation.png")
    )
    parser.add_argument(
        "--json", default=os.path.join(REPO, "benchmarks", "results", "localisation.json")
    )
    args = parser.parse_args(argv)
    train_digits, (scans, labels) = digit_split()
    images, labels, boxes = noisy_canvas(scans, labels, seed=12345)
    runs = []
    for seed in args.seeds:
        start = time.perf_counter()
        model = localisation_nest(seed)
        train(model, train_digits, args.epochs, seed)
        runs.append(pointing_table(model, images, labels, boxes))
        print(
            f"seed {seed}: {time.perf_counter() - start:.0f} s, "
            + ", ".join(f"{method} {value:.3f}" for method, value in runs[-1].items()),
            flush=True,
        )
    shown = slice(0, 8)
    for method in ("gradcat (absolute)", "gradcam"):
        result = explanations(model, images[shown])[method]
        stem, extension = os.path.splitext(args.figure)
        explain.plot(images[shown], result, f"{stem}_{method.split()[0]}{extension}", columns=8)
    summary = {
        method: {
            "mean": float(np.mean([run[method] for run in runs])),
            "min": float(np.min([run[method] for run in runs])),
            "max": float(np.max([run[method] for run in runs])),
        }
        for method in runs[0]
    }
    report = {
        "machine": machine(),
        "backend": keras.backend.backend(),
        "seeds": args.seeds,
        "epochs": args.epochs,
        "validation_images": len(labels),
        "results": summary,
    }
    print(
        f"\n{report['machine']}, {report['backend']}, {len(args.seeds)} seeds, "
        f"{len(labels)} validation digits"
    )
    print("| method | pointing-game hits (mean, min-max) |\n|---|---|")
    for method, value in summary.items():
        print(f"| {method} | {value['mean']:.1%} ({value['min']:.1%}-{value['max']:.1%}) |")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as file:
        json.dump(report, file, indent=2)


if __name__ == "__main__":
    main()
