"""Time end-to-end propensity score matching: tabtransfer.psm against other packages.

Every method runs the same pipeline on the same simulated data: fit a propensity
model, match each treated unit to one control, compute the ATT, and build a
balance table where the package has one. Each method runs in its own subprocess
with a time limit and an address-space limit, so a package that builds an
n_treated x n_controls matrix fails or times out without taking the machine down.
A failure or a time-out is recorded as the result.

tabtransfer runs in the course environment (.venv); the competitors run in a
separate venv, never in the course environment. Reproduce:

    python -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install -r benchmarks/requirements-bench.txt -e .
    /tmp/benchvenv/bin/python benchmarks/bench_psm.py

The results, with the machine description, go to benchmarks/results/psm.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "psm.json"
#: Interpreter of the course environment, used for tabtransfer when it exists.
COURSE_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
METHODS = ("tabtransfer", "causalml", "dowhy", "psmpy")
PACKAGES = {"tabtransfer": "tabtransfer", "causalml": "causalml", "dowhy": "dowhy", "psmpy": "psmpy"}
TARGET_SECONDS = 0.5
TRUE_ATT = 1.0


def simulate(n_treated: int, n_controls: int, n_covariates: int, seed: int):
    """Return covariates, treatment and outcome with a constant effect TRUE_ATT.

    Treated covariates are shifted by 0.3 in every dimension, and the outcome
    rises with the covariate sum, so the naive difference is biased.
    """
    rng = np.random.default_rng(seed)
    n = n_treated + n_controls
    X = rng.normal(size=(n, n_covariates))
    treat = np.r_[np.ones(n_treated, dtype=np.int64), np.zeros(n_controls, dtype=np.int64)]
    X[:n_treated] += 0.3
    y = X.sum(axis=1) + TRUE_ATT * treat + rng.normal(size=n)
    return X, treat, y


def _frame(data_path: Path):
    import pandas as pd

    arrays = np.load(data_path)
    X = arrays["X"]
    columns = [f"x{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    frame["t"] = arrays["treat"]
    frame["y"] = arrays["y"]
    frame["unit_id"] = np.arange(len(frame))
    return frame, columns


def _run_tabtransfer(frame, columns):
    import warnings

    import tabtransfer.psm as psm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", psm.UnmatchedTreatedWarning)
        result = psm.estimate_att(frame, "t", "y", columns)
    return {"att": result.att, "balance_table": True, "n_matched": result.n_matched}


def _run_causalml(frame, columns):
    from causalml.match import NearestNeighborMatch, create_table_one
    from sklearn.linear_model import LogisticRegression

    data = frame.copy()
    model = LogisticRegression(max_iter=1000).fit(data[columns], data["t"])
    data["logit_ps"] = model.decision_function(data[columns])
    matcher = NearestNeighborMatch(caliper=0.2, replace=True, ratio=1)
    matched = matcher.match(data=data, treatment_col="t", score_cols=["logit_ps"])
    is_treated = matched["t"] == 1
    att = matched.loc[is_treated, "y"].mean() - matched.loc[~is_treated, "y"].mean()
    create_table_one(matched, "t", columns)
    return {"att": float(att), "balance_table": True, "n_matched": int(is_treated.sum())}


def _run_dowhy(frame, columns):
    import logging

    from dowhy import CausalModel

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    data = frame.drop(columns="unit_id").assign(t=frame["t"].astype(bool))
    model = CausalModel(data=data, treatment="t", outcome="y", common_causes=columns)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(
        estimand, method_name="backdoor.propensity_score_matching", target_units="att"
    )
    return {"att": float(estimate.value), "balance_table": False, "n_matched": None}


def _run_psmpy(frame, columns):
    from psmpy import PsmPy

    # The outcome is dropped first: every column psmpy is given enters its propensity model.
    model = PsmPy(frame.drop(columns="y"), treatment="t", indx="unit_id", exclude=[])
    model.logistic_ps(balance=True)
    # kdtree_matched queries all n_controls neighbours of every treated unit.
    model.kdtree_matched(matcher="propensity_logit", replacement=True, caliper=None)
    matched_ids = model.df_matched["unit_id"]
    matched = frame.set_index("unit_id").loc[matched_ids]
    is_treated = matched["t"] == 1
    att = matched.loc[is_treated, "y"].mean() - matched.loc[~is_treated, "y"].mean()
    return {"att": float(att), "balance_table": False, "n_matched": int(is_treated.sum())}


RUNNERS = {
    "tabtransfer": _run_tabtransfer,
    "causalml": _run_causalml,
    "dowhy": _run_dowhy,
    "psmpy": _run_psmpy,
}


def worker(method: str, data_path: Path, repeats: int, slow_seconds: float) -> None:
    """Time one method in this process and print one JSON line to stdout."""
    import warnings

    warnings.simplefilter("ignore")
    frame, columns = _frame(data_path)
    runner = RUNNERS[method]
    times = []
    details = {}
    for _ in range(repeats + 1):
        start = time.perf_counter()
        details = runner(frame, columns)
        times.append(time.perf_counter() - start)
        if times[0] > slow_seconds:
            break
    # The first run pays for lazy imports and caches, so it is dropped when
    # there are others.
    timed = times[1:] if len(times) > 1 else times
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "status": "ok",
                "seconds": timed,
                "peak_rss_mb": peak_mb,
                "version": metadata.version(PACKAGES[method]),
                "python": sys.executable,
                **details,
            }
        )
    )


def _limit_memory(limit_bytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


def run_method(method, python, data_path, repeats, timeout, memory_gib, slow_seconds):
    """Run one method in a subprocess and return its result record."""
    command = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        method,
        "--data",
        str(data_path),
        "--repeats",
        str(repeats),
        "--slow-seconds",
        str(slow_seconds),
    ]
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_limit_memory(int(memory_gib * 2**30)),
        )
    except subprocess.TimeoutExpired:
        return {"status": "timed out", "seconds_until_stop": time.perf_counter() - start}
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.strip().splitlines() if line.strip()]
        return {
            "status": "failed",
            "error": lines[-1] if lines else f"exit code {completed.returncode}",
            "seconds_until_stop": elapsed,
        }
    return json.loads(completed.stdout.strip().splitlines()[-1])


def package_version(python: str, package: str) -> str | None:
    """Return the installed version of ``package`` in the interpreter ``python``."""
    completed = subprocess.run(
        [python, "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip() if completed.returncode == 0 else None


def summarise(runs: list[dict]) -> dict:
    """Merge the records of one method over rounds into one record."""
    if runs[-1]["status"] != "ok":
        return runs[-1]
    seconds = [value for run in runs for value in run["seconds"]]
    merged = {key: value for key, value in runs[-1].items() if key != "seconds"}
    merged.update(
        seconds_median=statistics.median(seconds),
        seconds_min=min(seconds),
        seconds_max=max(seconds),
        runs=len(seconds),
        peak_rss_mb=max(run["peak_rss_mb"] for run in runs),
    )
    return merged


def wait_for_low_load(max_load: float, max_wait: float) -> float:
    """Sleep until the 1-minute load average drops below ``max_load``.

    Returns the seconds waited. Gives up after ``max_wait`` seconds and runs
    anyway, and the report records the load.
    """
    start = time.monotonic()
    while os.getloadavg()[0] >= max_load and time.monotonic() - start < max_wait:
        time.sleep(10)
    return time.monotonic() - start


def machine_info() -> dict:
    cpu_model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("numpy", "pandas", "scikit-learn", "scipy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        # Load averages over 1, 5 and 15 minutes when the run starts: on a shared
        # machine, times grow with the load.
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **versions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-treated", type=int, default=10_000, help="treated units")
    parser.add_argument("--n-controls", type=int, default=100_000, help="control units")
    parser.add_argument("--n-covariates", type=int, default=10, help="covariates")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds; each runs every method once in a fresh subprocess")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per round, after one untimed warm-up run")
    parser.add_argument("--max-load", type=float, default=1.5,
                        help="wait until the 1-minute load average is below this")
    parser.add_argument("--load-wait", type=float, default=600.0,
                        help="maximum wait for the load to drop, seconds")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per method")
    parser.add_argument("--memory-gib", type=float, default=8.0,
                        help="address-space limit per method, GiB")
    parser.add_argument("--slow-seconds", type=float, default=30.0,
                        help="a first run slower than this is the only run, seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated data")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter with the competitors installed")
    parser.add_argument("--python-tabtransfer",
                        default=str(COURSE_PYTHON) if COURSE_PYTHON.exists() else sys.executable,
                        help="interpreter for tabtransfer (default: the course .venv)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        worker(args.worker, args.data, args.repeats, args.slow_seconds)
        return

    waited = wait_for_low_load(args.max_load, args.load_wait)
    machine = machine_info()
    X, treat, y = simulate(args.n_treated, args.n_controls, args.n_covariates, args.seed)
    records: dict[str, list[dict]] = {method: [] for method in args.methods}
    with tempfile.TemporaryDirectory() as folder:
        data_path = Path(folder) / "data.npz"
        np.savez(data_path, X=X, treat=treat, y=y)
        # Rounds interleave the methods, so a change in the machine's load during
        # the run affects all of them alike.
        for _ in range(args.rounds):
            for method in args.methods:
                if records[method] and records[method][-1]["status"] != "ok":
                    continue
                python = args.python_tabtransfer if method == "tabtransfer" else args.python
                records[method].append(
                    run_method(
                        method, python, data_path, args.repeats, args.timeout,
                        args.memory_gib, args.slow_seconds,
                    )
                )
    results = {method: summarise(runs) for method, runs in records.items()}
    for method, record in results.items():
        python = args.python_tabtransfer if method == "tabtransfer" else args.python
        record.setdefault("version", package_version(python, PACKAGES[method]))

    ours = results.get("tabtransfer", {})
    ratios = {}
    if ours.get("status") == "ok":
        for method, record in results.items():
            if method != "tabtransfer" and record.get("status") == "ok":
                ratios[method] = record["seconds_median"] / ours["seconds_median"]
    targets = {
        "under_target_seconds": ours.get("status") == "ok"
        and ours["seconds_median"] < TARGET_SECONDS,
        "faster_than_causalml": ratios.get("causalml", 0.0) > 1.0,
        "faster_than_dowhy": ratios.get("dowhy", 0.0) > 1.0,
    }
    report = {
        "benchmark": "end-to-end propensity score matching (propensity fit, 1:1 matching, "
        "ATT, balance table where available)",
        "machine": machine,
        "seconds_waited_for_load": waited,
        "load_average_after": list(os.getloadavg()),
        "config": {
            "n_treated": args.n_treated,
            "n_controls": args.n_controls,
            "n_covariates": args.n_covariates,
            "rounds": args.rounds,
            "repeats_per_round": args.repeats,
            "timeout_seconds": args.timeout,
            "memory_limit_gib": args.memory_gib,
            "seed": args.seed,
            "true_att": TRUE_ATT,
            "target_seconds": TARGET_SECONDS,
            "max_load": args.max_load,
            "load_wait_seconds": args.load_wait,
        },
        "results": results,
        "ratios_to_tabtransfer": ratios,
        "targets": targets,
        "command": "/tmp/benchvenv/bin/python benchmarks/bench_psm.py",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    json.dump({"results": results, "targets": targets}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
