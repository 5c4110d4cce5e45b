"""Helpers shared by the CLI commands: typed arguments, loading a model with its weights."""
from __future__ import annotations

import argparse
import math


def probability(text: str) -> float:
    """argparse type: a float in [0, 1] (NaN refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], found {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also False for NaN
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], found {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}")
    return value


def add_model_argument(parser) -> None:
    parser.add_argument("model", help="model name (e.g. yolov3-tiny) or path to a DSL .py file")


def load_network(model: str, weights: str | None = None):
    """Load a model module, build its network and bind ``weights`` (an HDF5 store) if given.

    Returns:
        (module, Network).
    Raises:
        UnknownModelError, ModelFileError, WeightsFileError, WeightsError,
        NetworkDefinitionError: as their sources.
    """
    from ..models import load_model
    from ..weights import load_weights
    module = load_model(model)
    net = module.build_network()
    if weights is not None:
        load_weights(net, weights)
    return module, net


def is_finite_number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
