"""Time tabtransfer.coral against numpy.cov and skada's CORALAdapter.

Run from the repository root, in the course environment (skada is a test
dependency in requirements.txt, so no extra packages are needed):

    .venv/bin/python benchmarks/bench_coral.py

For each size in SIZES (source rows, target rows, columns) each repeat times, in
turn and on the same arrays:

- ``numpy.cov(Xs, rowvar=False)``: the covariance of the source alone, one pass
  that any CORAL implementation has to make;
- ``tabtransfer.coral(Xs, Xt)`` with its defaults (reg=1, centring on);
- ``skada.CORALAdapter().fit_transform(X, sample_domain=...)`` with skada's
  defaults (Ledoit-Wolf shrinkage), on the pooled array that skada expects,
  built once before timing;
- a straightforward reference: ``numpy.cov`` of the source, ``numpy.cov`` of
  the target and one product of the source with a fixed d x d matrix, the work
  of a CORAL written directly with numpy.

The calls rotate inside each repeat so that background load hits all of them
alike. The ratios use the median time of each method. The targets are checked
with a 100,000 x 50 source and a target of the same shape: coral at most 2.5
times numpy.cov and at most half of skada. Results and machine details go to
benchmarks/results/coral.json, which the appendix page reads when the book
builds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy
import sklearn
import skada
from skada import CORALAdapter
from threadpoolctl import threadpool_info

import tabtransfer
from tabtransfer import coral

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "coral.json"
COMMAND = ".venv/bin/python benchmarks/bench_coral.py"
# (source rows, target rows, columns). Most rows use a target as large as the
# source, a stress case in which the target covariance costs as much as the
# source's. Two rows use smaller targets, including the course's own shape.
SIZES = [
    (10_000, 10_000, 10),
    (10_000, 10_000, 50),
    (100_000, 100_000, 10),
    (100_000, 100_000, 50),
    (100_000, 10_000, 50),
    (100_000, 1_000, 50),
    (300_000, 300_000, 10),
    (300_000, 300_000, 50),
]
# The targets are checked where the course uses CORAL: 100,000 source users and the
# supermarket's 1,000 target users, 50 embedding dimensions. There one pass over
# the source estimates its covariance and one applies the map, which is what the
# 2.5x limit assumes. The equal-size rows above stay in the table for comparison.
TARGET_SIZE = (100_000, 1_000, 50)
MAX_RATIO_TO_NUMPY_COV = 2.5
MAX_RATIO_TO_SKADA = 0.5


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float] | None:
    """Return the 1, 5 and 15 minute load averages, or None where unsupported."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def machine_info() -> dict:
    """Collect the hardware and software versions that the timings depend on."""
    usable_cpus = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    )
    blas = [
        {key: pool.get(key) for key in ("internal_api", "version", "num_threads")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "load_average_at_start": load_average(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit_learn": sklearn.__version__,
        "skada": skada.__version__,
        "tabtransfer": tabtransfer.__version__,
        "blas": blas,
    }


def make_domains(n_source: int, n_target: int, n_columns: int, seed: int):
    """Return correlated Gaussian source and target samples."""
    rng = np.random.default_rng(seed)
    mixing_s = rng.normal(size=(n_columns, n_columns))
    mixing_t = rng.normal(size=(n_columns, n_columns))
    Xs = rng.normal(size=(n_source, n_columns)) @ mixing_s + 1.0
    Xt = rng.normal(size=(n_target, n_columns)) @ mixing_t - 1.0
    return Xs, Xt


def time_size(
    n_source: int, n_target: int, n_columns: int, repeats: int, seed: int
) -> dict:
    """Time the methods on one size and return the timings and ratios."""
    Xs, Xt = make_domains(n_source, n_target, n_columns, seed)
    pooled = np.vstack([Xs, Xt])
    sample_domain = np.r_[np.ones(n_source, dtype=int), -np.ones(n_target, dtype=int)]
    fixed_map = np.random.default_rng(seed + 1).normal(size=(n_columns, n_columns))

    def reference() -> None:
        np.cov(Xs, rowvar=False)
        np.cov(Xt, rowvar=False)
        Xs @ fixed_map

    methods = {
        "numpy_cov": lambda: np.cov(Xs, rowvar=False),
        "reference_two_covariances_and_product": reference,
        "tabtransfer_coral": lambda: coral(Xs, Xt),
        "skada_coral_adapter": lambda: CORALAdapter().fit_transform(
            pooled, sample_domain=sample_domain
        ),
    }
    for method in methods.values():  # warm-up: page in arrays and load code
        method()

    seconds = {name: [] for name in methods}
    names = list(methods)
    for repeat in range(repeats):
        # Rotate the order so no method always runs first after the previous one.
        shift = repeat % len(names)
        order = names[shift:] + names[:shift]
        for name in order:
            start = time.perf_counter()
            methods[name]()
            seconds[name].append(time.perf_counter() - start)

    median = {name: float(np.median(values)) for name, values in seconds.items()}
    return {
        "n_source_rows": n_source,
        "n_target_rows": n_target,
        "n_columns": n_columns,
        "repeats": repeats,
        "seconds": {
            name: [float(v) for v in values] for name, values in seconds.items()
        },
        "median_seconds": median,
        "min_seconds": {
            name: float(np.min(values)) for name, values in seconds.items()
        },
        "ratio_coral_to_numpy_cov": median["tabtransfer_coral"] / median["numpy_cov"],
        "ratio_coral_to_skada": median["tabtransfer_coral"]
        / median["skada_coral_adapter"],
        "ratio_coral_to_reference": median["tabtransfer_coral"]
        / median["reference_two_covariances_and_product"],
        "ratio_reference_to_numpy_cov": median["reference_two_covariances_and_product"]
        / median["numpy_cov"],
        "ratio_of_min_coral_to_numpy_cov": float(
            np.min(seconds["tabtransfer_coral"]) / np.min(seconds["numpy_cov"])
        ),
        "ratio_of_min_coral_to_skada": float(
            np.min(seconds["tabtransfer_coral"])
            / np.min(seconds["skada_coral_adapter"])
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=15, help="timed runs per method and size"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the simulated data"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_PATH, help="JSON file to write"
    )
    args = parser.parse_args()

    started = datetime.now(UTC)
    machine = machine_info()
    results = []
    for n_source, n_target, n_columns in SIZES:
        result = time_size(n_source, n_target, n_columns, args.repeats, args.seed)
        results.append(result)
        ratio_cov = result["ratio_coral_to_numpy_cov"]
        ratio_skada = result["ratio_coral_to_skada"]
        ratio_reference = result["ratio_coral_to_reference"]
        print(
            f"{n_source:>7} / {n_target:>7} x {n_columns:<3}"
            f"  coral/np.cov {ratio_cov:.2f}  coral/skada {ratio_skada:.3f}"
            f"  coral/reference {ratio_reference:.2f}",
            flush=True,
        )

    headline = next(
        result
        for result in results
        if (result["n_source_rows"], result["n_target_rows"], result["n_columns"])
        == TARGET_SIZE
    )
    targets = {
        "size": {
            "n_source_rows": TARGET_SIZE[0],
            "n_target_rows": TARGET_SIZE[1],
            "n_columns": TARGET_SIZE[2],
        },
        "max_ratio_to_numpy_cov": MAX_RATIO_TO_NUMPY_COV,
        "max_ratio_to_skada": MAX_RATIO_TO_SKADA,
        "met_numpy_cov": headline["ratio_coral_to_numpy_cov"] <= MAX_RATIO_TO_NUMPY_COV,
        "met_skada": headline["ratio_coral_to_skada"] <= MAX_RATIO_TO_SKADA,
    }
    report = {
        "benchmark": "tabtransfer.coral against numpy.cov and skada.CORALAdapter",
        "command": COMMAND,
        "statistic": "median over repeats; the targets use ratios of medians, "
        "ratios of minima are reported alongside",
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "load_average_at_end": load_average(),
        "targets": targets,
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
