"""The reference executor's pool of large arrays (netdsl.reference.buffers): a block is handed out again
only when no array made from it is alive, outputs a caller keeps are never overwritten by a later pass,
and the pool keeps no more than one pass's blocks plus what the caller holds."""
import numpy as np

from netdsl.graph.dtypes import DataType
from netdsl.graph.network import Network
from netdsl.reference import buffers, execute

MIB = 1 << 20


def test_small_arrays_are_plain_numpy():
    with buffers.pass_scope():
        small = buffers.empty((16, 16))
        assert small.base is None and small.shape == (16, 16) and small.dtype == np.float32
        assert small.nbytes not in buffers._pool


def test_a_block_is_reused_only_when_no_array_made_from_it_lives():
    with buffers.pass_scope():
        first = buffers.empty((MIB // 4,))
        view = first[10:].reshape(-1, 2)   # a view keeps the block busy after the array itself is gone
        del first
        second = buffers.empty((MIB // 4,))
        assert not np.shares_memory(second, view)
        del view
        third = buffers.empty((2, MIB // 8), np.float32)   # same size, other shape: the freed block
        assert np.shares_memory(third, second) is False
        kept = third
    with buffers.pass_scope():
        other = buffers.empty((MIB // 4,))
        assert not np.shares_memory(other, kept) and not np.shares_memory(other, second)
    del second, kept, other


def test_blocks_the_last_pass_did_not_use_are_released():
    with buffers.pass_scope():
        held = buffers.empty((3 * MIB // 4,))
        dropped = buffers.empty((5 * MIB // 4,))
        del dropped
    with buffers.pass_scope():
        pass
    sizes = {nbytes for nbytes in buffers._pool}
    assert 3 * MIB in sizes and 5 * MIB not in sizes   # the held block stays while the caller has it
    del held
    with buffers.pass_scope():
        pass
    assert 3 * MIB not in buffers._pool


def test_outputs_kept_from_an_earlier_execute_are_not_overwritten():
    """Two passes on different inputs: the first pass's output (a pooled block) keeps its values."""
    rng = np.random.default_rng(0)
    net = Network("pool")
    x = net.add_input("x", DataType.FLOAT, (1, 8, 96, 96))
    conv = net.add_convolution_nd(x, 32, (3, 3), rng.standard_normal((32, 8, 3, 3)).astype(np.float32),
                                  rng.standard_normal(32).astype(np.float32),
                                  padding_nd=(1, 1), name="conv")
    net.mark_output(conv.output)
    a = rng.standard_normal((1, 8, 96, 96)).astype(np.float32)
    b = rng.standard_normal((1, 8, 96, 96)).astype(np.float32)
    first = execute(net, {"x": a})[conv.output.name]
    assert first.nbytes >= buffers._MIN_BYTES   # large enough to come from the pool
    expected = first.copy()
    second = execute(net, {"x": b})[conv.output.name]
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, expected)
    del first
    third = execute(net, {"x": a})[conv.output.name]   # may reuse the first block now; same answer
    np.testing.assert_array_equal(third, expected)
