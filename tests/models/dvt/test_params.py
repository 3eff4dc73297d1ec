"""DVT parameter counts and multiply-adds: the authors' figures."""

import pytest

import keras_nest
from tests.conftest import BACKEND, shapes_only

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="counts from shapes: backend-free")

# Counted from the authors' models (their frozen sinusoid position embeddings
# and Performer features included), 1000 classes.
AUTHORS_PARAMS = {
    "dvt_deit_small": 70_442_232,
    "dvt_t2t_vit_12": 22_461_516,
    "dvt_t2t_vit_14": 67_881_836,
}
# GMACs of the first exit alone, as the authors count (fvcore): the 7x7
# T2T-ViT-12 of paper Tables 1 and 6, and the DeiT-S /32 of their MindSpore
# README; then the cumulative cost of exits 1-3 of DVT T2T-ViT-12 (Table 6:
# 0.47 / 1.46 / 3.50, which also counts the reuse resampling we leave free).
FIRST_EXIT_GMACS = {"dvt_t2t_vit_12": 0.47, "dvt_deit_small": 1.145}
T2T_12_CUMULATIVE_GMACS = (0.47, 1.46, 3.50)


@pytest.mark.parametrize("name", sorted(AUTHORS_PARAMS))
def test_parameter_count_equals_the_authors(name):
    with shapes_only():
        model = keras_nest.create_model(name)
        assert model.count_params() == AUTHORS_PARAMS[name]
        assert model.count_params() == keras_nest.models.registry.model_record(name).preset.params


@pytest.mark.parametrize("name", sorted(FIRST_EXIT_GMACS))
def test_first_exit_costs_what_the_authors_report(name):
    with shapes_only():
        macs = keras_nest.create_model(name).exit_macs()
    assert macs[0] / 1e9 == pytest.approx(FIRST_EXIT_GMACS[name], abs=0.005)


def test_cumulative_exit_costs_of_t2t_vit_12():
    with shapes_only():
        macs = keras_nest.create_model("dvt_t2t_vit_12").exit_macs()
    assert [round(m / 1e9, 2) for m in macs[:2]] == list(T2T_12_CUMULATIVE_GMACS[:2])
    assert macs[2] / 1e9 == pytest.approx(T2T_12_CUMULATIVE_GMACS[2], rel=0.01)
