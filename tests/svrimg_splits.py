"""SVRIMG-format splits made from the five real storms that ship with coursekit,
served over HTTP on 127.0.0.1, so that the book can be built on real-format data
without the internet.

Each split is filled to SVRIMG's size with variants of the five storms: the eight
rotations and mirror images, each shifted by a few pixels (zeros filling in), and
labels assigned in SVRIMG's published class mix. The pickles hold exactly what
SVRIMG's do: a tuple ``(x, y)`` with ``x`` uint8 (N, 136, 136, 1) stored
**south-up**. The training split stores its labels one-hot (N, 6), as Keras
workflows keep them; the others as integers, so both forms are exercised.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import pickle
import threading
from pathlib import Path

import numpy as np

from coursekit import data


def variants(storms, count, seed):
    """`count` north-up images: rotations, mirror images and shifts of `storms`."""
    rng = np.random.default_rng(seed)
    out = np.zeros((count, *storms.shape[1:]), dtype=np.uint8)
    for i in range(count):
        img = storms[i % len(storms)]
        img = np.rot90(img, k=int(rng.integers(4)))
        if rng.random() < 0.5:
            img = img[:, ::-1]
        dr, dc = rng.integers(-12, 13, size=2)
        shifted = np.zeros_like(img)
        rows = slice(max(dr, 0), img.shape[0] + min(dr, 0))
        cols = slice(max(dc, 0), img.shape[1] + min(dc, 0))
        src_rows = slice(max(-dr, 0), img.shape[0] + min(-dr, 0))
        src_cols = slice(max(-dc, 0), img.shape[1] + min(-dc, 0))
        shifted[rows, cols] = img[src_rows, src_cols]
        out[i] = shifted
    return out


def class_mix_labels(count, seed):
    """Labels whose class shares follow SVRIMG's published counts, in random order."""
    shares = np.array(data.CLASS_COUNTS) / sum(data.CLASS_COUNTS)
    labels = np.repeat(np.arange(len(shares)), np.floor(shares * count).astype(int))
    labels = np.concatenate([labels, np.argsort(-shares)[: count - len(labels)]])
    return np.random.default_rng(seed).permutation(labels).astype(np.int64)


def write_splits(folder):
    """Write SVRIMG's three pickles into `folder`; return {split: (x south-up, y)}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    storms = data.example_storms().x  # north-up
    written = {}
    for number, (split, name) in enumerate(data.SVRIMG_FILES.items()):
        count = data.SVRIMG_SIZES[split]
        x_north = variants(storms, count, seed=number)
        x_stored = np.ascontiguousarray(x_north[:, ::-1])  # as SVRIMG stores them: south-up
        y = class_mix_labels(count, seed=number)
        y_stored = np.eye(len(data.CLASS_NAMES), dtype=np.float32)[y] if split == "training" else y
        (folder / name).write_bytes(pickle.dumps((x_stored, y_stored), protocol=4))
        written[split] = (x_stored, y)
    return written


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_folder(folder):
    """Serve `folder` on 127.0.0.1 (a free port) for the duration; yield its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
