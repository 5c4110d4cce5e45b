"""The deadlock guard around TensorRT calls: an old builder kept alive only by a reference cycle
must be freed before TensorRT can call back into Python, and never from inside a callback."""
import gc

import numpy as np

from netdsl import DataType, Network
from netdsl.tensorrt import build_engine
from netdsl.tensorrt.logger import gc_paused


def test_gc_paused_collects_first_and_restores():
    class Cycle:
        pass
    a = Cycle()
    a.self = a
    freed = []
    import weakref
    ref = weakref.ref(a, lambda _: freed.append(True))
    del a
    assert gc.isenabled()
    with gc_paused():
        assert freed == [True]  # cyclic garbage went before the block
        assert not gc.isenabled()
        with gc_paused():  # nested: no second collection, still paused
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled() and ref() is None


def test_builds_after_failed_builds_kept_in_cycles(rtx):
    """A failed build's traceback keeps its IBuilder in a cycle; later builds must not deadlock."""
    kept = []
    for i in range(20):
        net = Network(f"n{i}")
        x = net.add_input("x", DataType.FLOAT, (1, 2, 4, 4))
        net.mark_output(net.add_convolution_nd(x, 2, (1, 1), np.ones((2, 2, 1, 1), np.float32), False).output)
        if i % 2:
            try:
                build_engine(net, tensorrt=rtx, targets=("no-such-target",))
            except Exception as exc:  # noqa: BLE001 - keep the traceback, and its frames, alive in a cycle
                exc.self = exc
                kept.append(exc)
        else:
            assert len(build_engine(net, tensorrt=rtx, targets=("sm86",))) > 0
    assert len(kept) == 10
