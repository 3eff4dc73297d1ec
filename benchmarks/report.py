"""What a benchmark writes down: the CPU it ran on and its rows, appended to a CSV; the row of
a worker run in a fresh process; and the median time of a step."""

import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker_row(module, arguments, name, **env):
    """Runs ``python -m module --worker *arguments`` from the repository, with ``env`` added to
    this process's environment and TensorFlow's logging off; the JSON row it printed last.
    A failed worker ends the benchmark with ``name`` and the end of its standard error."""
    command = [sys.executable, "-m", module, "--worker", *arguments]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env)
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{name} worker failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_ms(step, steps, repeats):
    """Median over ``repeats`` of the milliseconds ``step()`` takes, timed over ``steps`` calls,
    after one call to compile and warm up."""
    step()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        timings.append((time.perf_counter() - start) / steps * 1000)
    return statistics.median(timings)


def cpu_info():
    """``(model name, set of flags)`` of the first processor in ``/proc/cpuinfo``; the platform's
    processor name and no flags where there is no such file."""
    info = {}
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as file:
            for key, _, value in (line.partition(":") for line in file if ":" in line):
                info.setdefault(key.strip(), value.strip())
    model = info.get("model name", platform.processor() or platform.machine() or "unknown CPU")
    return model, set(info.get("flags", "").split())


def cpu_kind():
    """``lscpu``'s model name and whether the CPU has AVX-512, e.g. "AMD EPYC 7B13, no AVX-512"."""
    model, flags = cpu_info()
    return f"{model}, {'AVX-512' if 'avx512f' in flags else 'no AVX-512'}"


def append_rows(rows, path, fields):
    """Appends ``rows`` (dicts with ``fields``) to the CSV ``path``, with a header if it is new."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    new = not os.path.exists(path)
    with open(path, "a", newline="") as file:
        writer = csv.DictWriter(file, fields)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def record(rows, path, fields):
    """Prints the rows' CPU kind and appends them to the CSV ``path`` (see :func:`append_rows`)."""
    print(f"CPU: {rows[0]['cpu']}")
    append_rows(rows, path, fields)
    print(f"wrote {path}")
