"""TensorFlow's CPU memory: freed buffers kept for reuse, set before TensorFlow's first op.

TensorFlow's default CPU allocator hands every buffer back to the system when it is freed
and asks for it again on the next step: each large activation is mapped anew and every page
of it faults on first touch. On virtual machines that costs as much as the arithmetic (the
CCT-7/3x1 training step at batch 64 on a 2-core AMD EPYC: 17 million page faults and 95 s of
system time for 10 steps, the first included). TensorFlow's BFC allocator
(``TF_CPU_ALLOCATOR_USE_BFC``) keeps what it has mapped and hands it out again. Every
backend's ``tf.data`` pipeline runs on it too.

TensorFlow reads the variable once, when its first tensor is made, so ``import keras_nest``
sets it first (after ``import keras`` is early enough; after a TensorFlow op is too late).
A value the user set, ``false`` included, is kept.
"""

import os

ENVIRONMENT_VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"


def keep_cpu_memory_for_reuse():
    """Asks TensorFlow for its BFC allocator on the CPU unless ``TF_CPU_ALLOCATOR_USE_BFC`` is
    set; returns the variable's value. Without effect once TensorFlow has made a tensor."""
    return os.environ.setdefault(ENVIRONMENT_VARIABLE, "true")
