"""Root pytest set-up, shared by the tests and the docstring examples in coursekit/."""

import matplotlib

matplotlib.use("Agg")  # figures are drawn off-screen in tests and doctests
