"""Train the U-Net and its no-skip baseline as the book ships them (``make weights``).

Both are trained by :func:`coursekit.pixel_classifier.train` with the chapter's recipe
and seed 0 on the synthetic training split, which every machine can make without
a download, and scored on the synthetic testing split. The weights and how they
were made (recipe, data, scores, versions) go to coursekit/weights/unet.npz and
unet_noskip.npz; tests/test_unet_classifier.py trains afresh and compares.

    python tools/train_weights.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def train_and_score(skip, log=None):
    """(model, info) for one network, trained and scored as the shipped weights were."""
    from coursekit import __version__, data, echo
    from coursekit import pixel_classifier as pc

    training = data.load_radar("training", source="synthetic", progressbar=False)
    testing = data.load_radar("testing", source="synthetic", progressbar=False)
    start = time.perf_counter()
    model, history = pc.train(training.x, skip=skip, channels=(8, 16, 32), seed=0, log=log)
    seconds = time.perf_counter() - start
    scores = pc.label_scores(echo.convective_stratiform(testing.x[..., 0]), pc.predict_labels(model, testing.x))
    info = {
        "recipe": pc.CLASSIFIER_RECIPE, "channels": [8, 16, 32], "skip": bool(skip), "seed": 0,
        "class_weights": list(pc.CLASS_WEIGHTS), "dice": pc.DICE,
        "data": f"training: {training.description}; scored on testing: {testing.description}",
        "scores": {"mean_iou": round(scores["mean_iou"], 4), "iou": [round(float(v), 4) for v in scores["iou"]]},
        "final_loss": round(float(history["loss"][-1]), 4),
        "made_with": {"coursekit": __version__, "numpy": np.__version__, "seconds": round(seconds, 1)},
    }
    return model, info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "coursekit" / "weights",
                        help="folder for unet.npz and unet_noskip.npz (default: coursekit/weights)")
    args = parser.parse_args(argv)
    from coursekit.nn import save_parameters

    args.out.mkdir(parents=True, exist_ok=True)
    for skip, name in ((True, "unet.npz"), (False, "unet_noskip.npz")):
        model, info = train_and_score(skip)
        save_parameters(model, args.out / name, info)
        print(f"{args.out / name}: mean IoU {info['scores']['mean_iou']:.4f} on the synthetic testing split "
              f"({info['made_with']['seconds']:.0f} s of training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
