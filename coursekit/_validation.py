"""Shared input checks.

Every public function validates its arguments here, so that error messages
look the same everywhere and always name the parameter and the value received.
Plain ``if``/``raise`` rather than ``assert``: checks must survive ``python -O``.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable

import numpy as np


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_array(value, name: str, ndim: int | tuple[int, ...] | None, *, allow_bool: bool = True,
             allow_complex: bool = False) -> np.ndarray:
    """Return ``value`` as a real numeric ndarray with the expected number of dimensions (any if None).

    Complex input is refused unless ``allow_complex``: no function of the course means
    it, and most would silently drop the imaginary part. Bool input is refused only
    when ``allow_bool`` is false, for parameters that are values rather than masks.
    """
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise TypeError(f"The parameter `{name}` must be array-like; got {_describe(value)}") from error
    # dtype.kind rather than np.issubdtype, which costs a microsecond a call: b bool,
    # i/u integers, f floats, c complex; objects, strings, dates and durations are refused.
    kind = array.dtype.kind
    if kind not in "biufc":
        raise TypeError(
            f"The parameter `{name}` must hold numbers; got an array of dtype {array.dtype}"
        )
    if kind == "c" and not allow_complex:
        raise TypeError(
            f"The parameter `{name}` must hold real numbers; got an array of dtype {array.dtype}"
        )
    if kind == "b" and not allow_bool:
        raise TypeError(
            f"The parameter `{name}` must hold numbers, not bool; got an array of dtype bool"
        )
    allowed = (ndim,) if isinstance(ndim, int) else () if ndim is None else tuple(ndim)
    if allowed and array.ndim not in allowed:
        wanted = " or ".join(f"{d}-dimensional" for d in allowed)
        raise ValueError(
            f"The parameter `{name}` must be a {wanted} array; got shape {array.shape}"
        )
    return array


def as_int(value, name: str, minimum: int) -> int:
    """Return ``value`` as a Python int, requiring ``value >= minimum``."""
    # A plain int skips the check against numbers.Integral, which costs more than many of the
    # small operations whose arguments come through here (bool is a type of its own).
    if type(value) is not int and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)):
        raise TypeError(f"The parameter `{name}` must be an integer; got {_describe(value)}")
    if value < minimum:
        kind = "positive" if minimum == 1 else "non-negative" if minimum == 0 else f">= {minimum}"
        raise ValueError(f"The parameter `{name}` must be {kind}; got {value}")
    return int(value)


def as_bool(value, name: str) -> bool:
    """Return ``value`` as a Python bool: True or False only (a string such as "no" is truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"The parameter `{name}` must be True or False; got {_describe(value)}")
    return bool(value)


def number_pair(value, name: str, example: str) -> tuple:
    """Two entries from a tuple, list or 1-d array of two (checked by the caller): ``scale=(0.9, 1.1)``."""
    if isinstance(value, (tuple, list, np.ndarray)) and np.ndim(value) == 1 and len(value) == 2:
        return value[0], value[1]
    raise TypeError(f"The parameter `{name}` must be a pair {example}; got {_describe(value)}")


def as_pair(value, name: str, minimum: int) -> tuple[int, int]:
    """Accept an int or a pair of ints (rows, columns), as torch does."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"The parameter `{name}` must be an integer or a pair of integers; "
                f"got {_describe(value)}"
            )
        return as_int(value[0], name, minimum), as_int(value[1], name, minimum)
    single = as_int(value, name, minimum)
    return single, single


def as_number(value, name: str, *, positive: bool = False, finite: bool = True) -> float:
    """Return a real scalar as a Python float: no bool, string, complex or (by default) inf/NaN.

    A 0-d array of numbers counts as its number (``np.array(1e-3)``, what NumPy reductions
    and indexing sometimes give).
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"The parameter `{name}` must be a real number; got {_describe(value)}")
    number = float(value)
    if finite and not np.isfinite(number):
        raise ValueError(f"The parameter `{name}` must be finite; got {number}")
    if positive and not number > 0:
        raise ValueError(f"The parameter `{name}` must be positive; got {_describe(value)}")
    return number


def check_finite(array: np.ndarray, name: str) -> np.ndarray:
    """Refuse NaN and infinities, saying which and how many."""
    if np.issubdtype(array.dtype, np.inexact):
        bad = ~np.isfinite(array)
        if bad.any():
            kinds = sorted({repr(float(v)) for v in np.unique(array[bad])[:3]})
            raise ValueError(
                f"The parameter `{name}` must hold finite values; got {int(bad.sum())} non-finite "
                f"value(s): {', '.join(kinds)}"
            )
    return array


def same_shape(first: np.ndarray, second: np.ndarray, first_name: str, second_name: str) -> None:
    """Refuse two arrays that must match element for element but differ in shape."""
    if first.shape != second.shape:
        raise ValueError(
            f"Shape mismatch: `{first_name}` has shape {first.shape} but `{second_name}` has shape "
            f"{second.shape}"
        )


def binary_mask(array: np.ndarray, name: str) -> np.ndarray:
    """A bool mask from bools, or from numbers that are all 0 or 1 (anything else is refused)."""
    if array.dtype == bool:
        return array
    wrong = (array != 0) & (array != 1)
    if wrong.any():
        raise ValueError(
            f"The parameter `{name}` must be a binary mask (0/1 or bool); got values "
            f"{np.unique(array[wrong])[:5]}"
        )
    return array != 0


def one_of(value, name: str, choices):
    """Return ``value`` if it is one of ``choices`` (compared with ==, strings only match strings)."""
    choices = tuple(choices)
    if not isinstance(value, Hashable) or isinstance(value, bool) or value not in choices:
        listing = ", ".join(repr(choice) for choice in choices[:-1]) + f" or {choices[-1]!r}"
        raise ValueError(f"The parameter `{name}` must be {listing}; got {_describe(value)}")
    return value


def working_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype arithmetic is done in: floats keep their precision, integers widen to int64.

    Widening matters: a uint8 radar image times a uint8 kernel would silently wrap around.
    """
    dtype = np.result_type(*arrays)
    # dtype.kind, as in as_array: np.issubdtype cost more than the rest of a small convolution's checks.
    if dtype.kind == "f":
        return np.dtype(np.float32) if dtype == np.float16 else dtype
    if dtype.kind == "c":
        return dtype
    return np.dtype(np.int64)


def window_fits(window, image_shape, padding, window_name: str, image_name: str) -> None:
    """Require a (rows, cols) window to fit inside the padded image (..., H, W).

    The message names the window and the input as the caller spelled them
    (``size`` of a pooling, ``kernel_size`` of a layer, the kernel of ``w``), not
    the ``k`` of :func:`~coursekit.conv.output_size`.
    """
    (k_rows, k_cols), (height, width), (pad_r, pad_c) = window, image_shape[-2:], padding
    if k_rows < 1 or k_cols < 1:
        raise ValueError(
            f"The {window_name} ({k_rows}x{k_cols}) is empty: a window needs at least one row and "
            f"one column"
        )
    if k_rows > height + 2 * pad_r or k_cols > width + 2 * pad_c:
        padded = f", padded to {height + 2 * pad_r}x{width + 2 * pad_c}" if pad_r or pad_c else ""
        raise ValueError(
            f"The {window_name} ({k_rows}x{k_cols}) is larger than the padded input `{image_name}` "
            f"({height}x{width}{padded}), so no window fits"
        )


def fill_value(value, name: str, dtype: np.dtype, array_name: str):
    """Return `value`, a real scalar that an array of `dtype` (the parameter `array_name`) stores exactly.

    Infinities and NaN pad a float array (-inf for max pooling); an integer or bool array
    would store them, or a fraction, or a value out of its range, as some other number.
    """
    number = as_number(value, name, finite=False)
    if dtype.kind in "iub":
        low, high = (0, 1) if dtype.kind == "b" else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
        # Whole numbers compared as Python ints: through a float, int64's largest would not fit.
        whole = int(value) if isinstance(value, numbers.Integral) else (
            int(number) if np.isfinite(number) and number == int(number) else None)
        if whole is None or not low <= whole <= high:
            raise ValueError(
                f"The parameter `{name}` ({_describe(value)}) cannot be stored in `{array_name}`, "
                f"whose dtype is {dtype} (whole numbers from {low} to {high}); pad a float copy "
                f"of `{array_name}` instead"
            )
    return value


def odd_square_kernel(value, name: str) -> np.ndarray:
    """Return ``value`` as a (k, k) array with k odd: a kernel with a centre pixel."""
    kernel = as_array(value, name, 2)
    rows, cols = kernel.shape
    if rows != cols or rows % 2 == 0:
        raise ValueError(
            f"The parameter `{name}` must be a square kernel of odd size (3x3, 5x5, ...), so that it has "
            f"a centre; got shape {kernel.shape}"
        )
    return kernel


def same_length(value, name: str, other, other_name: str) -> None:
    """Require ``len(value) == len(other)``: one label or target per example."""
    if len(value) != len(other):
        raise ValueError(
            f"The parameter `{name}` has {len(value)} entries but `{other_name}` has {len(other)}; "
            f"they must have one entry each per example"
        )


def as_generator(value, name: str) -> np.random.Generator:
    """A NumPy Generator from a Generator, an int seed or None (fresh entropy)."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None or (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))):
        return np.random.default_rng(None if value is None else as_int(value, name, 0))
    raise TypeError(
        f"The parameter `{name}` must be a numpy.random.Generator (np.random.default_rng(seed)) or an "
        f"integer seed; got {_describe(value)}"
    )


def as_image_batch(value, name: str) -> np.ndarray:
    """A batch of one-channel images, (N, H, W) or (N, H, W, 1), as an (N, H, W) array with N >= 1."""
    images = as_array(value, name, (3, 4))
    if images.ndim == 4:
        if images.shape[-1] != 1:
            raise ValueError(f"`{name}` must hold one channel, (N, H, W) or (N, H, W, 1); got shape {images.shape}")
        images = images[..., 0]
    if len(images) == 0:
        raise ValueError(f"`{name}` holds no image")
    return images
