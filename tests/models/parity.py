"""Shared checks of the parity tests: the measured error against a reference,
and proof that the reference would catch a wrong detail."""

from tests.conftest import BACKEND, max_abs_diff, outputs_of
from tests.torch_references import other_gelu, torch_logits, zeroed


def assert_matches(label, logits, expected, tolerance):
    """Asserts ``logits`` are within ``tolerance`` of ``expected``; prints the error."""
    error = max_abs_diff(logits, expected)
    print(f"{label} on {BACKEND}: max logit error {error:.2e}")
    assert error < tolerance, f"{label}: max logit error {error:.2e} >= {tolerance:.0e}"
    return error


def assert_tells_apart(label, logits, tolerance, wrongs, reference=None, images=None):
    """Asserts each wrong reference misses ``logits`` by more than 10x ``tolerance``.

    ``wrongs`` maps a detail to the wrong reference's logits, or (with
    ``reference`` and ``images``) to a context manager under which
    ``reference`` has that detail wrong: one more reference forward each.
    """
    for detail, wrong in wrongs.items():
        if reference is not None:
            with wrong:
                wrong = torch_logits(reference, images)
        miss = max_abs_diff(logits, wrong)
        print(f"{label}: the reference with {detail} misses by {miss:.2e}")
        assert miss > 10 * tolerance, f"{label}: {detail} is within {miss:.2e}"


def assert_torch_parity(label, model, reference, images, tolerance, min_std, token=None):
    """``model``'s logits against a torch ``reference`` of the same weights.

    The reference's logits must spread by more than ``min_std`` (to tell
    models apart); ours must be within ``tolerance``; and the reference with
    the other GELU, or with the parameter ``token`` (a class token) zeroed,
    must miss ours by more than 10x ``tolerance``.
    """
    expected = torch_logits(reference, images)
    assert expected.std() > min_std, "logits too small to tell models apart"
    logits = outputs_of(model, images)
    assert_matches(label, logits, expected, tolerance)
    wrongs = {"the other GELU": other_gelu(reference)}
    if token is not None:
        wrongs["a zero class token"] = zeroed(reference, token)
    assert_tells_apart(label, logits, tolerance, wrongs, reference, images)
