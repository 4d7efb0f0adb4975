"""Helpers for the book's pages themselves, not for the reader's computations.

A number in a chapter's prose that the code computes is *glued* into the prose
from the executed cell (myst-nb's ``glue``), never typed by hand. :func:`glue`
does that in the book build and does nothing harmful elsewhere (Colab has no
myst-nb), so that a chapter runs unchanged in both places.

Used in: every chapter whose prose quotes a computed number.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["glue"]


def glue(name, value):
    """Store `value` under `name` for the page's ``{glue:text}`` roles, and return it.

    NumPy scalars are turned into Python numbers first, so that a format such as
    ``{glue:text}`name:.1f``` applies to them (NumPy 2 prints ``np.float64(...)``).
    Without myst-nb (in Colab, say), nothing is stored and nothing is shown.

    Parameters
    ----------
    name : str
        The name the prose refers to; unique within the page.
    value : object
        A number or a short string.

    Returns
    -------
    object
        `value`, as a Python number when it was a NumPy scalar.

    Examples
    --------
    >>> glue("peak_dbz", np.float64(61.0))
    61.0

    Used in: every chapter whose prose quotes a computed number.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"The parameter `name` must be a non-empty string; got {name!r}")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Number, str)):
        raise TypeError(f"The parameter `value` must be a number or a string; got {type(value).__name__}")
    try:
        from IPython import get_ipython
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    if get_ipython() is not None:  # only a kernel has cell outputs to store it in
        myst_glue(name, value, display=False)
    return value
