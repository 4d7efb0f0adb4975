"""A plain loop of Steiner, Houze and Yuter's (1995) rules, one pixel at a time:
the reference that coursekit.echo.convective_stratiform must match exactly."""

import math

import numpy as np


def convective_stratiform_loop(dbz, pixel_km):
    """(H, W) dBZ -> (H, W) labels 0 no echo, 1 stratiform, 2 convective."""
    dbz = np.asarray(dbz, dtype=float)
    height, width = dbz.shape
    echo = np.isfinite(dbz) & (dbz > 0)
    background = np.full(dbz.shape, -math.inf)
    reach = int(11.0 // pixel_km) + 1
    for r in range(height):
        for c in range(width):
            if not echo[r, c]:
                continue
            total, count = 0.0, 0
            for rr in range(max(0, r - reach), min(height, r + reach + 1)):
                for cc in range(max(0, c - reach), min(width, c + reach + 1)):
                    distance = math.hypot(rr - r, cc - c) * pixel_km
                    if echo[rr, cc] and distance <= 11.0 + 1e-9:
                        total += 10.0 ** (dbz[rr, cc] / 10.0)
                        count += 1
            background[r, c] = 10.0 * math.log10(total / count)
    labels = np.where(echo, 1, 0)
    for r in range(height):
        for c in range(width):
            if not echo[r, c]:
                continue
            b = background[r, c]
            peak = 10.0 if b < 0 else (10.0 - b * b / 180.0 if b < 42.43 else 0.0)
            if not (dbz[r, c] >= 42.0 or dbz[r, c] - b >= peak):
                continue
            radius = 1.0 if b < 25 else 2.0 if b < 30 else 3.0 if b < 35 else 4.0 if b < 40 else 5.0
            span = int(radius // pixel_km) + 1
            for rr in range(max(0, r - span), min(height, r + span + 1)):
                for cc in range(max(0, c - span), min(width, c + span + 1)):
                    if echo[rr, cc] and math.hypot(rr - r, cc - c) * pixel_km <= radius + 1e-9:
                        labels[rr, cc] = 2
    return labels
