"""DVT against the authors' own code: their reduced cascades' logits at every exit."""

import numpy as np
import pytest

from tests.conftest import outputs_of, to_numpy
from tests.models.dvt.fixtures import FORMS, arrays, build, save_checkpoint
from tests.models.parity import assert_matches, assert_tells_apart

pytestmark = pytest.mark.core

# Logits of order 40 in float32; the measured error is about 1e-5.
TOLERANCE = 5e-5


@pytest.fixture(scope="module", params=FORMS)
def loaded(request, tmp_path_factory):
    """``(form, model, our logits)`` with the authors' checkpoint loaded by weights=path."""
    form = request.param
    path = save_checkpoint(
        form,
        tmp_path_factory.mktemp("dvt") / f"dvt_{form}.pth.tar",
        flops=[0.1, 0.3, 0.7],
        dynamic_threshold=np.zeros((59, 3), "float32"),
    )
    model = build(form, weights=path)
    _, images, _ = arrays(form)
    return form, model, outputs_of(model, images)


def test_every_exit_matches_the_authors(loaded):
    form, _, logits = loaded
    _, _, expected = arrays(form)
    assert len(logits) == 3
    for index, (ours, theirs) in enumerate(zip(logits, expected), start=1):
        assert theirs.std() > 1.0, "logits too small to tell models apart"
        assert_matches(f"dvt {form} exit {index}", ours, theirs, TOLERANCE)


def test_reuse_is_what_the_fixture_checks(loaded):
    """Without either reuse path, exits 2 and 3 miss the authors' logits by far."""
    form, model, _ = loaded
    _, images, expected = arrays(form)
    wrongs = {}
    for part in ("relation_reuse/fc2", "block_0_feature_reuse/mlp/fc2"):
        saved = []
        for exit_name in ("exit2", "exit3"):
            layer = model.get_layer(exit_name).get_layer(part.split("/")[0])
            for variable in layer.weights:
                if variable.path.endswith(("fc2/kernel", "fc2/bias")):
                    saved.append((variable, to_numpy(variable)))
                    variable.assign(np.zeros(variable.shape, variable.dtype))
        outputs = outputs_of(model, images)
        for variable, value in saved:
            variable.assign(value)
        wrongs[f"no {part.split('/')[0]}"] = np.concatenate(outputs[1:])
    assert_tells_apart(f"dvt {form}", np.concatenate(expected[1:]), TOLERANCE, wrongs)
