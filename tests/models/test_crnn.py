"""A CRNN with a runtime width (tests/support/crnn.py) against its PyTorch re-implementation.

One netdsl definition, images (batch, 1, 16, width): conv/ReLU/max-pool x 3 -> (T, N, C) with
T = width // 4 -> bidirectional LSTM -> linear -> argmax (top-k) -> CTC greedy decoding on the host.
Weights are random (fixed seed) and loaded into both; logits must match torch (CPU, float32) within
1e-5 at widths 64, 200 and 1000 and the decoded label sequences must be equal. The same definition
builds a TensorRT-RTX engine (sm86) with a width profile 32..1000.
"""
import numpy as np
import pytest
import torch
from crnn import CLASSES, PROFILE, build_crnn, ctc_greedy_decode, text_line_images, torch_crnn, torch_weights

from netdsl.graph.errors import BackendUnavailableError
from netdsl.graph.shapes import format_shape
from netdsl.reference import execute


@pytest.fixture(scope="module")
def models():
    model = torch_crnn(seed=0)
    net = build_crnn()
    net.bind_weights(torch_weights(model))
    return net, model


def test_output_shapes_are_expressions_of_the_width(models):
    net, _ = models
    logits, best = net.outputs
    assert format_shape(logits.shape) == f"(width//4, batch, {CLASSES})"
    assert format_shape(best.shape) == "(width//4, batch, 1)" and best.dtype.name == "INT32"


@pytest.mark.parametrize("batch, width", [(2, 64), (1, 200), (1, 1000)])
def test_matches_torch_at_any_width(models, batch, width):
    net, model = models
    images = text_line_images(np.random.default_rng(width), batch, width)
    got = execute(net, {"images": images}, profiles=[PROFILE])
    with torch.no_grad():
        want = model(torch.from_numpy(images)).numpy()
    assert got["logits"].shape == want.shape == (width // 4, batch, CLASSES)
    np.testing.assert_allclose(got["logits"], want, atol=1e-5, rtol=0)
    best_torch = want.argmax(axis=2)
    np.testing.assert_array_equal(got["best"][..., 0], best_torch)
    decoded, decoded_torch = ctc_greedy_decode(got["best"]), ctc_greedy_decode(best_torch)
    assert decoded == decoded_torch
    # the decoding is not trivial: labels are found, and repeats or blanks were removed
    assert all(labels for labels in decoded) and all(len(labels) < width // 4 for labels in decoded)


def test_ctc_greedy_decode_collapses_repeats_then_drops_blanks():
    steps = np.array([[1, 1, 0, 1, 2, 2, 0, 0, 3], [0, 0, 0, 0, 0, 0, 0, 0, 0]]).T  # (T, N)
    assert ctc_greedy_decode(steps) == [[1, 1, 2, 3], []]


def test_builds_with_a_width_profile(models):
    """A real TensorRT-RTX engine for sm86 (ahead of time, no GPU), batch 1..4 and width 32..1000."""
    from netdsl.tensorrt import build_engine, load_tensorrt
    try:
        rtx = load_tensorrt("rtx")
    except BackendUnavailableError as exc:
        pytest.fail(f"TensorRT-RTX is required for this test (pip install -e '.[rtx,test]'): {exc}")
    net, _ = models
    assert PROFILE["images"][0][3] == 32 and PROFILE["images"][2][3] == 1000
    engine = build_engine(net, tensorrt=rtx, targets=("sm86",), workspace_bytes=1 << 28, profiles=[PROFILE])
    assert isinstance(engine, bytes) and len(engine) > 1000
