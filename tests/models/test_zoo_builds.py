"""Every zoo model ported from PyTorch and Keras builds into a TensorRT-RTX engine (sm86, small profiles),
with its shipped weights bound."""
import pytest

from zoo_support import zoo_network

CASES = {
    "mtcnn-pnet": {"images": ((1, 3, 12, 12), (1, 3, 48, 64), (2, 3, 96, 128))},
    "mtcnn-rnet": {"images": ((1, 3, 24, 24), (2, 3, 24, 24), (4, 3, 24, 24))},
    "mtcnn-onet": {"images": ((1, 3, 48, 48), (2, 3, 48, 48), (4, 3, 48, 48))},
    "fer-mini-xception": {"images": ((1, 1, 64, 64), (1, 1, 64, 64), (2, 1, 64, 64))},
    "textgenrnn": None,   # static (1, 40): netdsl's RNN lowering needs static batch and steps
    "lenet5": {"images": ((1, 1, 28, 28), (4, 1, 28, 28), (8, 1, 28, 28))},
}


@pytest.mark.parametrize("model", list(CASES))
def test_builds(model, rtx_build):
    profile = CASES[model]
    rtx_build(zoo_network(model), profiles=[profile] if profile else None)
