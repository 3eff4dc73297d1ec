"""What a benchmark writes down: the CPU it ran on and its rows, appended to a CSV."""

import csv
import os
import platform


def cpu_kind():
    """``lscpu``'s model name and whether the CPU has AVX-512, e.g. "AMD EPYC 7B13, no AVX-512"."""
    model, flags = platform.processor() or "unknown CPU", ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = line
                    break
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
