"""explain.plot and ``keras-nest explain``: a PNG of the heatmaps with GradCAT's blocks
outlined, and one clear line for a user's mistake."""

import dataclasses
import json
import re

import numpy as np
import pytest

from keras_nest import explain
from keras_nest.cli import main
from keras_nest.training.recipes import RECIPES
from tests.conftest import BACKEND
from tests.data.test_pipeline import write_png
from tests.explain.models import SIZE, images, tiny_nest

pytestmark = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="drawing and the CLI's files: once, in the tensorflow run"
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_draws_each_image_with_its_path_outlined(tmp_path):
    batch = images(3)
    result = explain.gradcat(tiny_nest(), batch)
    path = tmp_path / "gradcat.png"
    figure = explain.plot(batch, result, path, class_names=["zero", "one", "two"], columns=2)
    assert path.read_bytes().startswith(PNG_MAGIC)
    axes = figure.axes
    assert len(axes) == 3
    assert axes[0].get_title() == f"gradcat: {['zero', 'one', 'two'][result.classes[0]]}"
    # the root is the whole image: one outline per level below it, the leaf's last
    (top, left, bottom, right) = result.path_boxes()[0, -1]
    leaf = axes[0].patches[-1]
    assert len(axes[0].patches) == 2
    assert (leaf.get_x(), leaf.get_y(), leaf.get_width()) == (left - 0.5, top - 0.5, right - left)
    with pytest.raises(ValueError, match="do not match the explained heatmaps"):
        explain.plot(batch[:2], result)


@pytest.fixture
def nest_run(tmp_path):
    """A training run's folder as ``train`` leaves it: the digits recipe (16x16 images)
    and a NesT checkpoint."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    with open(workdir / "recipe.json", "w") as file:
        json.dump(dataclasses.asdict(RECIPES["digits"]), file, default=str)
    tiny_nest().save(workdir / "best.keras")
    image = tmp_path / "digit.png"
    write_png(str(image), np.random.default_rng(0).integers(0, 255, (SIZE, SIZE, 3), "uint8"))
    return workdir, image


def test_explain_command_writes_the_figure_and_prints_each_path(nest_run, capsys):
    workdir, image = nest_run
    assert main(["explain", "--workdir", str(workdir), str(image)]) == 0
    lines = capsys.readouterr().out.splitlines()
    pattern = rf"{re.escape(str(image))}: class \d, leaf block \d+ \(rows \d+-\d+, columns \d+-\d+ "
    assert re.fullmatch(pattern + r"of the 16px input\)", lines[0]), lines
    written = workdir / "explained_gradcat.png"
    assert lines[1:] == [f"gradcat written to {written}"]
    assert written.read_bytes().startswith(PNG_MAGIC)

    out = workdir.parent / "cam.png"
    args = ["explain", "--workdir", str(workdir), str(image), "--method", "gradcam", "--class", "2"]
    assert main([*args, "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{image}: class 2", f"gradcam written to {out}"]
    assert out.read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "rollout"], "rollout multiplies the attention maps.*use gradcat or gradcam"),
        (["--class", "7"], r"class_index must lie in \[0, 2\]"),
    ],
)
def test_explain_mistakes_are_one_line(nest_run, capsys, extra, message):
    workdir, image = nest_run
    assert main(["explain", "--workdir", str(workdir), str(image), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.match(rf"keras-nest: error: {message}", err), err
