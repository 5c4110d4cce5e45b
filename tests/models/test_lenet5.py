"""LeNet-5 (netdsl.models.lenet5) with the shipped weights/lenet5.h5 (trained by tools/train_lenet5.py):
at least 97 % on the 500 held-out MNIST digits through the reference executor."""
import importlib.util

import numpy as np

from netdsl.reference import execute

from zoo_support import zoo_network

from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "train_lenet5.py"


def held_out():
    spec = importlib.util.spec_from_file_location("train_lenet5", TOOL)   # the tool's own split
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, _, x, y = module.load_split()
    return x, y


def test_held_out_accuracy():
    x, y = held_out()
    assert x.shape == (500, 1, 28, 28) and np.bincount(y).tolist() == [50] * 10
    logits = execute(zoo_network("lenet5"), {"images": x})["logits"]
    accuracy = float((logits.argmax(axis=1) == y).mean())
    assert accuracy >= 0.97, accuracy
