"""The U-Net pixel classifier: held-out mean IoU after the chapter's recipe, and epoch time against PyTorch.

``unet_mean_iou``: :func:`coursekit.pixel_classifier.train` with its recipe on the
training split (``load_radar('training')``: SVRIMG's, or the synthetic stand-in
without network), scored on the testing split, mean of the stratiform and
convective IoU against Steiner's labels. The note gives the same score on the five
shipped real storms, both baselines' scores and the training time.

``unet_epoch_vs_torch``: one epoch of the recipe's crops, the same network in
torch on CPU (same layers, He start, float32, Adam, weighted cross-entropy plus
soft Dice, the same mini-batches); epochs alternate between the two and the ratio
is the median over the pairs.
"""

import time


from coursekit import data, echo, nn
from coursekit import pixel_classifier as pc

from .timing import interleaved, numpy_epoch, pairs_note


def _label_scores(model, images):
    target = echo.convective_stratiform(images[..., 0])
    return pc.label_scores(target, pc.predict_labels(model, images))


def _numpy_epoch(x, y, batch_size, lr):
    model = pc.UNet(seed=0)
    loss = nn.PixelCrossEntropy(pc.CLASS_WEIGHTS, dice=pc.DICE)
    return numpy_epoch(model, loss, nn.Adam(model.parameters(), lr=lr), x, y, batch_size)


def _torch_unet(torch, channels=(8, 16, 32), in_channels=2, classes=3):
    t = torch.nn

    def block(n_in, n_out):
        return t.Sequential(t.Conv2d(n_in, n_out, 3, padding=1), t.ReLU())

    class Level(t.Module):
        """Pool, block, the levels below, upsample; the input concatenated after (the skip)."""

        def __init__(self, depth):
            super().__init__()
            c_up, c = channels[depth - 1], channels[depth]
            layers = [t.MaxPool2d(2), block(c_up, c)]
            if depth + 1 < len(channels):
                layers += [Level(depth + 1), block(2 * c, c)]
            layers.append(t.ConvTranspose2d(c, c_up, 2, stride=2))
            self.inner = t.Sequential(*layers)

        def forward(self, x):
            return torch.cat([self.inner(x), x], dim=1)

    model = t.Sequential(block(in_channels, channels[0]), Level(1), block(2 * channels[0], channels[0]),
                         t.Conv2d(channels[0], classes, 1))
    for layer in model.modules():
        if isinstance(layer, (t.Conv2d, t.ConvTranspose2d)):
            t.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            t.init.zeros_(layer.bias)
    return model


def _torch_epoch(torch, x, y, batch_size, lr):
    model = _torch_unet(torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    weights = torch.tensor(pc.CLASS_WEIGHTS, dtype=torch.float32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def loss_of(logits, labels):
        cross_entropy = torch.nn.functional.cross_entropy(logits, labels, weight=weights)
        probs = logits.softmax(dim=1)
        one_hot = torch.nn.functional.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
        overlap = 2 * (probs * one_hot).sum(dim=(0, 2, 3)) + 1
        total = probs.sum(dim=(0, 2, 3)) + one_hot.sum(dim=(0, 2, 3)) + 1
        return cross_entropy + pc.DICE * (1 - (overlap / total).mean())

    def epoch():
        for start in range(0, len(x), batch_size):
            optimizer.zero_grad()
            loss_of(model(xt[start:start + batch_size]), yt[start:start + batch_size]).backward()
            optimizer.step()

    return epoch


def run():
    training, testing, storms = data.load_radar("training"), data.load_radar("testing"), data.example_storms()
    start = time.perf_counter()
    model, history = pc.train(training.x)
    seconds = time.perf_counter() - start
    plain, _ = pc.train(training.x, skip=False)
    held_out, real = _label_scores(model, testing.x), _label_scores(model, storms.x)
    notes = []
    for name, images, result in [("held-out", testing.x, held_out), ("5 real storms", storms.x, real)]:
        target = echo.convective_stratiform(images[..., 0])
        threshold = pc.label_scores(target, pc.threshold_labels(images))
        no_skip = pc.label_scores(target, pc.predict_labels(plain, images))
        notes.append(f"{name}: IoU strat/conv {result['iou'][1]:.3f}/{result['iou'][2]:.3f}, mean "
                     f"{result['mean_iou']:.3f} (40 dBZ {threshold['mean_iou']:.3f}, conv {threshold['iou'][2]:.3f}; "
                     f"no skip {no_skip['mean_iou']:.3f}, conv {no_skip['iou'][2]:.3f})")
    figures = [{"name": "unet_mean_iou", "value": held_out["mean_iou"], "target": ">= 0.80", "unit": "mean IoU",
                "note": f"{testing.source} testing split, {len(testing.x)} images; " + "; ".join(notes)
                        + f"; training {seconds:.1f} s ({len(training.x)} {training.source} images)"}]
    recipe = pc.CLASSIFIER_RECIPE
    x, y = pc.training_crops(training.x, side=recipe["side"], crops=recipe["crops"])
    try:
        import torch
    except ImportError:
        figures.append({"name": "unet_epoch_vs_torch", "value": None, "target": "<= 1.5", "unit": "x torch time",
                        "note": "skipped: torch not installed (make torch)"})
        return figures
    # One thread each: nn.fit (and numpy_epoch, like it) runs NumPy's products on one BLAS
    # thread, and torch gets the same single core, so that the ratio compares the code.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = interleaved(_numpy_epoch(x, y, recipe["batch_size"], recipe["lr"]),
                             _torch_epoch(torch, x, y, recipe["batch_size"], recipe["lr"]), pairs=5, warmup=1)
    finally:
        torch.set_num_threads(threads)
    figures.append({"name": "unet_epoch_vs_torch", "value": result["ratio"], "target": "<= 1.5",
                    "unit": "x torch time",
                    "note": f"{len(x)} crops of {recipe['side']} px, batch {recipe['batch_size']}, one thread each; "
                            f"{pairs_note(result, 's', 1)}"})
    return figures
