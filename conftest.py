"""Root pytest set-up, shared by the tests and the docstring examples in coursekit/."""

import os

# One BLAS thread per process, as grading has (coursekit/__main__.py): `make test` runs two
# workers on two cores, and the course's matrix products are small. A second thread per
# process only waits for a core, spinning: it made a network's training test several times
# slower, serial or not. Set before NumPy loads, so that it holds in this process and in
# every kernel, book build and sandbox that the tests start.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # figures are drawn off-screen in tests and doctests
