"""XLA's CPU matrix products for JAX: its own kernels instead of YNNPACK's, set before JAX starts.

jaxlib 0.10 hands XLA's CPU dots, convolutions and reductions to YNNPACK
(``--xla_cpu_experimental_ynn_fusion_type``, default
``individual_dot,individual_convolution,reduce``). On a 2-core Intel Xeon with
AVX-512 YNNPACK's matrix products are the slower ones: a dense layer's
``(16384, 256) x (256, 768)`` at 61-67 GMAC/s against 88-91 with XLA's own, the
attention logits ``(64, 4, 256, 64) x (64, 4, 64, 256)`` at 17-20 against 29-34;
training steps gain 7-17% (CCT-7/3x1 at batch 64: 13.5, 12.6 -> 14.5, 14.1 img/s;
NesT-T CIFAR: 8.1, 7.4 -> 8.2, 8.7), inference is unchanged. Convolutions and
reductions stay with YNNPACK (without it, reductions become far slower).

XLA reads ``XLA_FLAGS`` once, at JAX's first computation, and aborts on a flag
it does not know, so the flag is added only where it was measured: the JAX
backend, jaxlib 0.10, a CPU with AVX-512 (the AMD EPYC without it is not
measured), and ``XLA_FLAGS`` naming no choice of its own; the user's choice,
XLA's default included, is kept.
"""

import importlib.metadata
import os

FLAG = "--xla_cpu_experimental_ynn_fusion_type"
WITHOUT_DOTS = "individual_convolution,reduce"
MEASURED_JAXLIB = "0.10."


def prefer_xla_dots(backend, cpu_flags=None, jaxlib_version=None):
    """Adds ``FLAG=WITHOUT_DOTS`` to ``XLA_FLAGS`` where measured faster; returns ``XLA_FLAGS``.

    Args:
        backend: Keras's backend name; only ``"jax"`` is changed.
        cpu_flags: the CPU's feature flags (``/proc/cpuinfo``'s when None).
        jaxlib_version: the installed jaxlib's version (read when None).

    Without effect once JAX has run a computation (XLA has read its flags).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if backend != "jax" or FLAG.lstrip("-") in flags:
        return flags
    if jaxlib_version is None:
        try:
            jaxlib_version = importlib.metadata.version("jaxlib")
        except importlib.metadata.PackageNotFoundError:
            return flags
    if not jaxlib_version.startswith(MEASURED_JAXLIB):
        return flags
    if "avx512f" not in (_cpu_flags() if cpu_flags is None else cpu_flags):
        return flags
    os.environ["XLA_FLAGS"] = f"{flags} {FLAG}={WITHOUT_DOTS}".strip()
    return os.environ["XLA_FLAGS"]


def _cpu_flags():
    """The first processor's feature flags from ``/proc/cpuinfo``; empty where there is none."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return line.split(":", 1)[1].split()
    except OSError:
        pass
    return []
