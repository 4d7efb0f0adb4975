"""Convective and stratiform echo: Steiner, Houze and Yuter's separation (1995).

Convective rain falls from narrow, intense updraft cores; stratiform rain from
wide, gentle shields. Steiner, Houze and Yuter (1995, J. Appl. Meteor. 34,
1978-2007) tell them apart on a map of reflectivity alone: a pixel is a
convective *core* when it is intense, or when it stands out enough above its
*background* (the mean reflectivity within 11 km), and each core makes its
neighbours convective too, within a radius that grows with the background.
Everything else that echoes is stratiform.

The background is a disk-shaped average and the radius a disk-shaped dilation,
so the whole method is a handful of convolutions: :func:`convective_stratiform`
runs on a batch of images at once. A plain pixel loop of the same rules lives in
:mod:`coursekit.testing` as the reference.

Used in: Encoder-decoder (the labels the U-Net learns).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._svrimg import PIXEL_KM
from ._validation import as_array, as_number

__all__ = ["BACKGROUND_KM", "INTENSE_DBZ", "NO_ECHO", "STRATIFORM", "CONVECTIVE", "LABEL_NAMES",
           "convective_radius_km", "convective_stratiform", "peakedness"]

#: Labels of :func:`convective_stratiform`.
NO_ECHO, STRATIFORM, CONVECTIVE = 0, 1, 2
LABEL_NAMES = ("no echo", "stratiform", "convective")
#: Radius of the background average, km.
BACKGROUND_KM = 11.0
#: Reflectivity at or above which a pixel is a convective core outright, dBZ: Py-ART's
#: default (``steiner_conv_strat``); Steiner et al. (1995) used 40 dBZ.
INTENSE_DBZ = 42.0
# Steiner's "medium" relation: background (dBZ) lower edges -> convective radius (km).
_RADIUS_EDGES_DBZ = (25.0, 30.0, 35.0, 40.0)
_RADII_KM = (1.0, 2.0, 3.0, 4.0, 5.0)


def peakedness(background):
    """How far above its background a pixel must stand to be a convective core, dB.

    10 dB over a background below 0 dBZ, ``10 - background**2 / 180`` from 0 up to
    42.43 dBZ, and 0 above (where that formula reaches zero).

    Parameters
    ----------
    background : array_like
        Background reflectivity in dBZ.

    Returns
    -------
    ndarray of float, same shape

    Examples
    --------
    >>> peakedness([-5, 0, 30, 45])
    array([10., 10.,  5.,  0.])

    Used in: Encoder-decoder (through :func:`convective_stratiform`).
    """
    background = np.asarray(as_array(background, "background", tuple(range(0, 5))), dtype=float)
    ramp = 10.0 - background**2 / 180.0
    return np.where(background < 0, 10.0, np.where(background < 42.43, ramp, 0.0))


def convective_radius_km(background):
    """Radius (km) that a convective core makes convective, from its background (dBZ).

    1, 2, 3, 4 or 5 km for a background below 25, in 25-30, 30-35, 35-40, or at
    least 40 dBZ (Steiner's "medium" relation).

    Parameters
    ----------
    background : array_like
        Background reflectivity in dBZ.

    Returns
    -------
    ndarray of float, same shape

    Examples
    --------
    >>> convective_radius_km([10, 25, 34.9, 35, 52])
    array([1., 2., 3., 4., 5.])

    Used in: Encoder-decoder (through :func:`convective_stratiform`).
    """
    background = np.asarray(as_array(background, "background", tuple(range(0, 5))), dtype=float)
    return np.asarray(_RADII_KM)[np.digitize(background, _RADIUS_EDGES_DBZ)]


def _disk(radius_km, pixel_km):
    """Boolean footprint of the pixels whose centres lie within `radius_km` (inclusive)."""
    reach = int(np.floor(radius_km / pixel_km))
    offsets = np.arange(-reach, reach + 1) * pixel_km
    # A small tolerance keeps centres exactly on the circle inside, whatever the rounding.
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius_km**2 * (1 + 1e-12)


def _same_disks(pixel_km):
    """The footprints of the convective radii, each once, with the radii (km) that share it.

    On SVRIMG's 3.76 km pixels, 1, 2 and 3 km all reach only the core's own pixel, and
    4 and 5 km its four neighbours: one correlation instead of five.
    """
    groups = []
    for radius_km in _RADII_KM:
        footprint = _disk(radius_km, pixel_km)
        if groups and np.array_equal(groups[-1][0], footprint):
            groups[-1][1].append(radius_km)
        else:
            groups.append((footprint, [radius_km]))
    return groups


def _disk_sum(field, footprint):
    """Sum of `field` over the footprint around every pixel of (N, H, W), zeros beyond the edges."""
    kernel = footprint[None].astype(field.dtype)
    return ndimage.correlate(field, kernel, mode="constant", cval=0.0)


def convective_stratiform(dbz, pixel_km=PIXEL_KM):
    """Label every pixel no echo (0), stratiform (1) or convective (2), after Steiner et al. (1995).

    - Echo is a finite reflectivity above 0 dBZ.
    - The background of an echo pixel is ``10 log10`` of the mean linear Z over the
      echo pixels whose centres lie within 11 km (inclusive) of its centre.
    - A convective core is an echo pixel of at least :data:`INTENSE_DBZ` (42 dBZ, as
      in Py-ART; the paper used 40), or one that exceeds its background by at least
      :func:`peakedness` of that background.
    - Each core makes convective every echo pixel whose centre lies within
      :func:`convective_radius_km` of the core's background.
    - Every other echo pixel is stratiform.

    Parameters
    ----------
    dbz : (H, W) or (N, H, W) array_like
        Reflectivity in dBZ, north-up or not (the rules are isotropic).
    pixel_km : float, optional
        Width of a pixel in km; SVRIMG's is about 3.76.

    Returns
    -------
    labels : (H, W) or (N, H, W) int64 ndarray
        Same shape as `dbz`.

    Examples
    --------
    >>> dbz = np.zeros((7, 7)); dbz[1:6, 1:6] = 25; dbz[3, 3] = 45
    >>> convective_stratiform(dbz, pixel_km=2.5)[1:6, 1:6]
    array([[1, 1, 1, 1, 1],
           [1, 1, 2, 1, 1],
           [1, 2, 2, 2, 1],
           [1, 1, 2, 1, 1],
           [1, 1, 1, 1, 1]])

    Used in: Encoder-decoder.
    """
    dbz = np.asarray(as_array(dbz, "dbz", (2, 3)), dtype=np.float64)
    pixel_km = as_number(pixel_km, "pixel_km", positive=True)
    single = dbz.ndim == 2
    batch = dbz[None] if single else dbz
    echo = np.isfinite(batch) & (batch > 0)
    reflectivity = np.where(echo, batch, 0.0)   # NaN and no echo out of the way
    z = np.where(echo, np.power(10.0, reflectivity / 10.0), 0.0)
    background_disk = _disk(BACKGROUND_KM, pixel_km)
    echo_count = _disk_sum(echo.astype(np.float64), background_disk)
    mean_z = _disk_sum(z, background_disk) / np.maximum(echo_count, 1.0)
    # Every echo pixel counts itself, so its mean Z is positive; elsewhere 0 dBZ is a placeholder.
    background = np.where(echo, 10.0 * np.log10(np.maximum(mean_z, 1e-300)), 0.0)
    cores = echo & ((reflectivity >= INTENSE_DBZ) | (reflectivity - background >= peakedness(background)))
    radius = convective_radius_km(np.where(cores, background, 0.0))
    convective = np.zeros_like(cores)
    for footprint, radii in _same_disks(pixel_km):
        seeds = cores & np.isin(radius, radii)
        if footprint.size == 1:  # radii below a pixel: a core makes only itself convective
            convective |= seeds
        elif seeds.any():
            convective |= _disk_sum(seeds.astype(np.float64), footprint) > 0.5
    labels = np.where(echo, np.where(convective, CONVECTIVE, STRATIFORM), NO_ECHO).astype(np.int64)
    return labels[0] if single else labels
