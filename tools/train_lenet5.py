"""Train LeNet-5 on the MNIST digits shipped in tests/data and write weights/lenet5.h5 (reproducible).

    python tools/train_lenet5.py [--out weights/lenet5.h5] [--epochs 30]

torch CPU, fixed seeds, single thread (so the run is deterministic). The
5,000 digits of ``tests/data/mnist/mnist_5k.csv.gz`` (500 per class) are
split with ``numpy.random.default_rng(0)``: the first 50 of each class after
shuffling are the held-out set (500 digits, never trained on), the other
4,500 train. Training: AdamW (lr 2e-3, weight decay 0.01, cosine decay),
batch 64, 40 epochs, random affine augmentation (rotation +-12 degrees,
scale 0.9-1.1, shift +-2 pixels). The torch state dict is converted with
``netdsl.frameworks.torch_import`` into ``netdsl.models.lenet5``'s weights
and written as a netdsl HDF5 store; the held-out accuracy is printed, through
torch and through netdsl's reference executor. A minute or two on a laptop CPU.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "mnist" / "mnist_5k.csv.gz"
HELD_OUT_PER_CLASS = 50


def load_split():
    """(train_x, train_y, test_x, test_y): images (N, 1, 28, 28) float32 in [0, 1], labels int64."""
    with gzip.open(DATA, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x = (table[:, :784] / 255.0).reshape(-1, 1, 28, 28).astype(np.float32)
    y = table[:, 784].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    test = np.zeros(len(y), bool)
    for digit in range(10):
        test[order[y[order] == digit][:HELD_OUT_PER_CLASS]] = True
    return x[~test], y[~test], x[test], y[test]


def main(argv=None) -> int:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "weights" / "lenet5.h5"))
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    train_x, train_y, test_x, test_y = load_split()

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    def augment(xb, rng):
        """Random affine per digit: rotation +-12 degrees, scale 0.9-1.1, shift +-2 pixels (zeros outside)."""
        n = len(xb)
        angle = np.deg2rad(rng.uniform(-12, 12, n))
        scale = rng.uniform(0.9, 1.1, n)
        shift = rng.uniform(-2, 2, (n, 2)) / 14.0
        theta = np.zeros((n, 2, 3), np.float32)
        theta[:, 0, 0] = np.cos(angle) / scale
        theta[:, 0, 1] = -np.sin(angle) / scale
        theta[:, 1, 0] = np.sin(angle) / scale
        theta[:, 1, 1] = np.cos(angle) / scale
        theta[:, :, 2] = shift
        grid = F.affine_grid(torch.from_numpy(theta), list(xb.shape), align_corners=False)
        return F.grid_sample(xb, grid, align_corners=False)

    model = LeNet5()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    steps = args.epochs * ((len(train_y) + 63) // 64)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rng = np.random.default_rng(1)
    tx, ty = torch.from_numpy(train_x), torch.from_numpy(train_y)
    for epoch in range(args.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(ty)))
        for i in range(0, len(ty), 64):
            idx = order[i:i + 64]
            xb = tx[idx]
            xb = augment(xb, rng)
            loss = F.cross_entropy(model(xb), ty[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model(torch.from_numpy(test_x)).argmax(1).numpy() == test_y).mean()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, held-out accuracy {acc:.4f}", flush=True)

    sys.path.insert(0, str(REPO))
    from netdsl.frameworks.torch_import import convert_torch
    from netdsl.models import lenet5
    from netdsl.reference import execute

    net = lenet5.build_network()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "lenet5.pt"
        torch.save(model.state_dict(), state)
        convert_torch(state, net, args.out, source="tools/train_lenet5.py (torch, seed 0) on tests/data/mnist/"
                                                   "mnist_5k.csv.gz, 4500 training digits")
    from netdsl.weights import load_weights
    load_weights(net, args.out)
    logits = execute(net, {"images": test_x})["logits"]
    print(f"wrote {args.out}; held-out accuracy through netdsl's reference executor: "
          f"{(logits.argmax(1) == test_y).mean():.4f} on {len(test_y)} digits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
