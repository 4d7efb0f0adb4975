"""How radar-like the synthetic images are: weak echo, roughness and class mix.

Workload: 40 images of each precipitating class (Cellular, QLCS, Tropical, Other)
from coursekit.synthetic, measured with its two realism statistics; the labels of
``synthetic_radar(1741, seed=0)`` against SVRIMG's published class mix; and, as the
yardstick, the spectral slope of the five real SVRIMG storms. No timings.
"""

import numpy as np

from coursekit import synthetic
from coursekit._svrimg import CLASS_COUNTS
from coursekit.data import example_storms
from coursekit.synthetic import power_spectrum_slope, weak_echo_fraction

PRECIPITATING = ("Cellular", "QLCS", "Tropical", "Other")
PER_CLASS = 40


def run():
    figures = []
    for name in PRECIPITATING:
        images = synthetic._class_images(name, PER_CLASS, seed=0)
        weak = np.array([weak_echo_fraction(image) for image in images])
        slopes = np.array([power_spectrum_slope(image) for image in images])
        key = name.lower()
        figures.append({
            "name": f"weak_echo_{key}", "value": float(np.median(weak)), "target": ">= 0.05",
            "unit": "share of echo at 1-4 dBZ",
            "note": f"median of {PER_CLASS} images; range {weak.min():.3f}-{weak.max():.3f}",
        })
        figures.append({
            "name": f"spectrum_slope_{key}", "value": float(np.median(slopes)),
            "target": "-3.5 to -2.0", "unit": "log-log slope, k 3-40",
            "note": f"median of {PER_CLASS} images; range {slopes.min():.2f} to {slopes.max():.2f}",
        })

    labels = synthetic._labels(sum(CLASS_COUNTS), seed=0)  # those of synthetic_radar(1741)
    share = np.bincount(labels, minlength=len(CLASS_COUNTS)) / len(labels) * 100
    expected = np.array(CLASS_COUNTS) / sum(CLASS_COUNTS) * 100
    figures.append({
        "name": "class_mix_max_error", "value": float(np.max(np.abs(share - expected))),
        "target": "<= 3", "unit": "percentage points",
        "note": f"{len(labels)} images, seed 0, against SVRIMG's 1,741 labels",
    })

    real = example_storms().x[..., 0]
    slopes = [power_spectrum_slope(image) for image in real]
    figures.append({
        "name": "spectrum_slope_real", "value": float(np.median(slopes)),
        "target": "about -2.8", "unit": "log-log slope, k 3-40",
        "note": f"median of the {len(real)} real SVRIMG storms shipped with coursekit; "
                f"range {min(slopes):.2f} to {max(slopes):.2f}",
    })
    return figures
