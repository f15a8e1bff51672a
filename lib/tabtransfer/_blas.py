"""A cached switch that limits BLAS to one thread for small, latency-bound products."""

from __future__ import annotations

from threadpoolctl import ThreadpoolController

_threadpools: ThreadpoolController | None = None


def single_threaded_blas():
    """Return a context manager that limits BLAS to one thread.

    CORAL uses it for its d x d eigendecompositions, which are too small to gain
    from threads, and for the product of the rows with its d x d map, which memory
    bandwidth limits for the d of tabular data. The propensity model uses it for its
    Newton steps, whose design matrices have about ten columns. The controller
    is created once because creating it costs several milliseconds.

    On a busy machine a threaded call waits for descheduled worker threads. With 2
    cores under load, OpenBLAS 0.3.31 took 356 ms for a 300,000 x 10 by 10 x 10
    product with two threads and 20 ms with one (medians of 21 runs).
    """
    global _threadpools
    if _threadpools is None:
        _threadpools = ThreadpoolController()
    return _threadpools.limit(limits=1, user_api="blas")
