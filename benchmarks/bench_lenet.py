"""LeNet on the digits: held-out accuracy of the chapter's recipe, and epoch time against PyTorch.

Both frameworks train the same architecture (sigmoid, average pooling), in float32,
with Adam, on the same mini-batches; epochs alternate between the two, and the
ratio is the median over the pairs.
"""

from coursekit import data, nn
from coursekit.lenet import TRAINING, LeNet, model_accuracy

from .timing import interleaved, numpy_epoch, pairs_note


def _numpy_epoch(x, y, batch_size):
    model = LeNet(seed=0)
    return numpy_epoch(model, nn.SoftmaxCrossEntropy(), nn.Adam(model.parameters(), lr=1e-3), x, y, batch_size)


def _torch_epoch(torch, x, y, batch_size):
    t = torch.nn
    model = t.Sequential(
        t.Conv2d(1, 6, 5, padding=2), t.Sigmoid(), t.AvgPool2d(2),
        t.Conv2d(6, 16, 5), t.Sigmoid(), t.AvgPool2d(2), t.Flatten(),
        t.Linear(400, 120), t.Sigmoid(), t.Linear(120, 84), t.Sigmoid(), t.Linear(84, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        for start in range(0, len(x), batch_size):
            optimizer.zero_grad()
            loss = t.functional.cross_entropy(model(xt[start:start + batch_size]), yt[start:start + batch_size])
            loss.backward()
            optimizer.step()

    return epoch


def run():
    x_train, x_test, y_train, y_test = data.load_digits_28()
    model = LeNet(seed=0)
    nn.fit(model, nn.SoftmaxCrossEntropy(), x_train, y_train, **TRAINING)
    figures = [{"name": "lenet_test_accuracy", "value": model_accuracy(model, x_test, y_test), "target": ">= 0.97",
                "unit": "fraction correct", "note": f"{len(x_test)} held-out digits after {TRAINING['epochs']} epochs"}]
    batch = TRAINING["batch_size"]
    try:
        import torch
    except ImportError:
        figures.append({"name": "lenet_epoch_vs_torch", "value": None, "target": "<= 2", "unit": "x torch time",
                        "note": "skipped: torch not installed (make torch)"})
        return figures
    result = interleaved(_numpy_epoch(x_train, y_train, batch), _torch_epoch(torch, x_train, y_train, batch),
                         pairs=5, warmup=1)
    figures.append({"name": "lenet_epoch_vs_torch", "value": result["ratio"], "target": "<= 2",
                    "unit": "x torch time", "note": f"batch {batch}; {pairs_note(result, 's', 1)}"})
    return figures
