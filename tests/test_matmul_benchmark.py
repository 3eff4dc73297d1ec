"""benchmarks/matmul.py: its worker times every dense shape of a block, and the ceiling it
reports is the batch over the depth's dense time."""

import json

from benchmarks import matmul


def test_worker_times_the_four_dense_shapes(capsys):
    matmul.main(["--worker", "keras", "--tokens", "6", "--width", "8", "--repeats", "1",
                 "--steps", "1"])  # fmt: skip
    times = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(times) == len(matmul.dense_shapes(8, 4)) == 4
    assert all(ms > 0 for ms in times)


def test_rows_give_rates_and_the_ceiling():
    args = matmul.parse(["--tokens", "1000", "--width", "100", "--mlp-ratio", "2", "--depth", "3",
                         "--batch", "5"])  # fmt: skip
    assert matmul.dense_shapes(100, 2) == [(100, 300), (100, 100), (100, 200), (200, 100)]
    *shapes, block = matmul.rows_for("jax", [1.0, 2.0, 3.0, 4.0], args)
    assert [row["shape"] for row in shapes] == ["1000x100x300", "1000x100x100", "1000x100x200",
                                                "1000x200x100"]  # fmt: skip
    assert [row["gmac_per_s"] for row in shapes] == [30.0, 5.0, 6.7, 5.0]
    assert block["ms"] == 10.0 and block["gmac_per_s"] == 8.0
    assert block["ceiling_images_per_second"] == round(5 * 1000 / (3 * 10.0), 1)
