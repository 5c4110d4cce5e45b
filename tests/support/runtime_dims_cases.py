"""Layer cases with runtime dimensions, shared by the executor test (tests/graph) and the RTX builds
(tests/tensorrt): case name -> (input dims with names, concrete shapes, builder(net, x) -> output tensor)."""
import numpy as np

from netdsl import (ActivationType, DataType, ElementWiseOperation, Network, PaddingMode, PoolingType, SampleMode,
                    ScaleMode, UnaryOperation)
from netdsl.graph.enums import (CumulativeOperation, GatherMode, MatrixOperation, ReduceOperation, ScatterMode,
                                TopKOperation)

# case name -> (input dims with names, concrete shapes, builder(net, x) -> output tensor)
CASES = {
    "activation": (("n", 4, "h", "w"), [(1, 4, 5, 7), (3, 4, 2, 2)],
                   lambda net, x: net.add_activation(x, ActivationType.LEAKY_RELU, alpha=0.1).output),
    "elementwise_broadcast": (("n", 4, "h", "w"), [(1, 4, 5, 7), (2, 4, 1, 3)],
                              lambda net, x: net.add_elementwise(
                                  x, net.add_constant((1, 4, 1, 1), np.arange(4, dtype=np.float32).reshape(1, 4, 1, 1)).output,
                                  ElementWiseOperation.PROD).output),
    "unary": (("n", 3), [(2, 3), (5, 3)], lambda net, x: net.add_unary(x, UnaryOperation.ABS).output),
    "conv_pad1": (("n", 3, "h", "w"), [(1, 3, 8, 8), (2, 3, 5, 9)],
                  lambda net, x: net.add_convolution_nd(x, 4, (3, 3), padding_nd=(1, 1)).output),
    "conv_stride2_dilated": (("n", 3, "h", "w"), [(1, 3, 9, 12), (1, 3, 16, 7)],
                             lambda net, x: net.add_convolution_nd(x, 4, (3, 3), stride_nd=2, dilation_nd=2,
                                                                   pre_padding=(1, 0), post_padding=(0, 2)).output),
    "conv_same_upper": (("n", 3, "h", "w"), [(1, 3, 8, 8), (2, 3, 7, 5)],
                        lambda net, x: net.add_convolution_nd(x, 4, (3, 3), stride_nd=2,
                                                              padding_mode=PaddingMode.SAME_UPPER).output),
    "conv_same_lower_grouped": (("n", 4, "h", "w"), [(1, 4, 6, 9), (1, 4, 11, 4)],
                                lambda net, x: net.add_convolution_nd(x, 4, (4, 2), num_groups=2, stride_nd=3,
                                                                      padding_mode="SAME_LOWER").output),
    "deconv": (("n", 3, "h", "w"), [(1, 3, 4, 5), (2, 3, 3, 3)],
               lambda net, x: net.add_deconvolution_nd(x, 2, (3, 3), stride_nd=2, padding_nd=(1, 1)).output),
    "deconv_same": (("n", 3, "h", "w"), [(1, 3, 4, 5), (2, 3, 3, 3)],
                    lambda net, x: net.add_deconvolution_nd(x, 2, (3, 3), stride_nd=2,
                                                            padding_mode=PaddingMode.SAME_UPPER).output),
    "maxpool_stride2": (("n", 3, "h", "w"), [(1, 3, 8, 8), (1, 3, 9, 5)],
                        lambda net, x: net.add_pooling_nd(x, PoolingType.MAX, (2, 2), stride_nd=2).output),
    "maxpool_darknet_stride1": (("n", 3, "h", "w"), [(1, 3, 13, 13), (2, 3, 4, 6)],
                                lambda net, x: net.add_pooling_nd(x, PoolingType.MAX, (2, 2), post_padding=(1, 1)
                                                                  ).output),
    "avgpool_round_up": (("n", 3, "h", "w"), [(1, 3, 7, 8), (1, 3, 5, 5)],
                         lambda net, x: net.add_pooling_nd(x, PoolingType.AVERAGE, (3, 3), stride_nd=2,
                                                           padding_nd=(1, 1),
                                                           padding_mode=PaddingMode.EXPLICIT_ROUND_UP).output),
    "avgpool_counts_padding_round_up": (("n", 3, "h", "w"), [(1, 3, 8, 7), (2, 3, 5, 10)],
                                        lambda net, x: net.add_pooling_nd(
                                            x, PoolingType.AVERAGE, (3, 3), stride_nd=2, padding_nd=(1, 1),
                                            average_count_excludes_padding=False,
                                            padding_mode=PaddingMode.EXPLICIT_ROUND_UP).output),
    "global_pool": (("n", 3, "h", "w"), [(1, 3, 7, 8), (2, 3, 1, 5)],
                    lambda net, x: net.add_global_pooling(x, PoolingType.AVERAGE).output),
    "scale_channel": (("n", 3, "h", "w"), [(1, 3, 2, 2), (2, 3, 4, 1)],
                      lambda net, x: net.add_scale(x, ScaleMode.CHANNEL, shift=np.float32([1, 2, 3])).output),
    "batch_norm": (("n", 3, "h", "w"), [(1, 3, 2, 2), (2, 3, 4, 1)], lambda net, x: net.add_batch_norm(x).output),
    "concat_channels": (("n", 3, "h", "w"), [(1, 3, 2, 2), (2, 3, 4, 1)],
                        lambda net, x: net.add_concatenation([x, net.add_activation(x, ActivationType.RELU).output],
                                                             axis=1).output),
    "concat_runtime_axis": (("n", 3, "h", "w"), [(1, 3, 2, 2), (2, 3, 4, 1)],
                            lambda net, x: net.add_concatenation([x, x], axis=2).output),
    "shuffle_transpose_reshape": (("n", 3, "h", "w"), [(1, 3, 2, 4), (2, 3, 5, 1)],
                                  lambda net, x: net.add_shuffle(x, first_transpose=(0, 2, 3, 1),
                                                                 reshape_dims=(0, -1, 3)).output),
    "shuffle_runtime_dims": (("n", 6, "h", "w"), [(1, 6, 2, 4), (2, 6, 5, 1)],
                             lambda net, x: net.add_shuffle(x, reshape_dims=(x.shape[0], 2, 3, x.shape[2] * x.shape[3]),
                                                            second_transpose=(0, 1, 3, 2)).output),
    "slice_runtime_size": (("n", 8, "h"), [(1, 8, 5), (3, 8, 2)],
                           lambda net, x: net.add_slice(x, (0, 2, 0), (x.shape[0], 3, x.shape[2]), (1, 2, 1)).output),
    "slice_wrap": (("n", 4), [(2, 4), (5, 4)],
                   lambda net, x: net.add_slice(x, (0, -1), (x.shape[0], 6), (1, 1), mode=SampleMode.WRAP).output),
    "resize_scales": (("n", 2, "h", "w"), [(1, 2, 3, 4), (2, 2, 5, 1)],
                      lambda net, x: net.add_resize(x, scales=(1, 1, 2, 1.5)).output),
    "padding_nd": (("n", 2, "h", "w"), [(1, 2, 3, 4), (2, 2, 5, 3)],
                   lambda net, x: net.add_padding_nd(x, (1, 2), (0, -1)).output),
    "reduce": (("n", 3, "h", "w"), [(1, 3, 2, 4), (2, 3, 5, 1)],
               lambda net, x: net.add_reduce(x, ReduceOperation.SUM, (2, 3), True).output),
    "matmul": (("n", "k"), [(2, 3), (4, 5)],
               lambda net, x: net.add_matrix_multiply(x, MatrixOperation.NONE, x, MatrixOperation.TRANSPOSE).output),
    "softmax": (("n", 5, "h"), [(1, 5, 3), (2, 5, 1)], lambda net, x: net.add_softmax(x, axes=1 << 1).output),
    "topk": (("n", 6, "w"), [(1, 6, 3), (2, 6, 4)],
             lambda net, x: net.add_topk(x, TopKOperation.MAX, 2, 1 << 1).get_output(0)),
    "mish": (("n", 3), [(2, 3), (1, 3)], lambda net, x: net.add_mish(x).output),
    "cast_half": (("n", 3), [(2, 3), (1, 3)], lambda net, x: net.add_cast(x, DataType.HALF).output),
    # recurrent layers: runtime steps (the TensorRT loop's trip count) and batch
    "rnn_lstm_bidirectional": (("t", "n", 3), [(7, 2, 3), (1, 1, 3), (100, 2, 3)],
                               lambda net, x: net.add_rnn(x, 2, 4, "LSTM", direction="BIDIRECTION").get_output(0)),
    "rnn_gru_batch_first_final_state": (("n", "t", 3), [(2, 7, 3), (1, 1, 3), (3, 100, 3)],
                                        lambda net, x: net.add_rnn(x, 1, 4, "GRU", batch_first=True).get_output(1)),
    "rnn_tanh_runtime_steps": (("t", 2, 3), [(7, 2, 3), (1, 2, 3), (100, 2, 3)],
                               lambda net, x: net.add_rnn(x, 3, 4, "TANH").get_output(0)),
}



def _const(net, value, dtype=np.float32):
    value = np.asarray(value, dtype)
    return net.add_constant(value.shape, value).output


def _small_indices(net, x, top=3):
    """INT32 indices in [0, top] of x's shape, from x: floor(clip(|x|, 0, top))."""
    a = net.add_activation(net.add_unary(x, UnaryOperation.ABS).output, ActivationType.CLIP, 0.0, float(top)).output
    return net.add_cast(net.add_unary(a, UnaryOperation.FLOOR).output, DataType.INT32).output


def _greater_than_zero(net, x):
    zero = _const(net, np.zeros((1,) * x.ndim))
    return net.add_elementwise(x, zero, ElementWiseOperation.GREATER).output


def _gather_nd_batched(net, x):
    idx = _small_indices(net, net.add_slice(x, (0, 0, 0), (x.shape[0], 3, 1), (1, 1, 1)).output)
    return net.add_gather(x, idx, 0, mode=GatherMode.ND, num_elementwise_dims=1).output


def _scatter_nd(net, x):
    updates = net.add_slice(x, (0, 0, 0), (2, 4, x.shape[2]), (1, 1, 1)).output
    return net.add_scatter(x, _const(net, [[1], [0]], np.int32), updates, ScatterMode.ND).output


def _nms(net, x):
    scores = net.add_activation(x, ActivationType.SIGMOID).output
    return net.add_nms(x, scores, 3, iou_threshold=0.3, score_threshold=0.4).get_output(0)


# The families ported to runtime dimensions by issue 8 (one case or more per family).
CASES.update({
    "gather_default": (("n", 5, "w"), [(2, 5, 3), (1, 5, 4)],
                       lambda net, x: net.add_gather(x, _const(net, [4, 0, 2], np.int32), 1).output),
    "gather_default_runtime_axis": (("n", 5, "w"), [(2, 5, 3), (1, 5, 1)],
                                    lambda net, x: net.add_gather(x, _const(net, [0, -1], np.int32), 2).output),
    "gather_default_elementwise_dim": (("n", 5, "w"), [(2, 5, 3), (1, 5, 4)],
                                       lambda net, x: net.add_gather(x, _const(net, [[3, 1]], np.int32), 1,
                                                                     num_elementwise_dims=1).output),
    "gather_element": (("n", 5, "w"), [(2, 5, 3), (1, 5, 4)],
                       lambda net, x: net.add_gather(x, _small_indices(net, x, 4), 1, mode=GatherMode.ELEMENT).output),
    "gather_nd": (("n", 4, "w"), [(2, 4, 3), (1, 4, 5)],
                  lambda net, x: net.add_gather(x, _const(net, [[0, 1], [0, 3]], np.int32), 0,
                                                mode=GatherMode.ND).output),
    "gather_nd_batched": (("n", 4, "w"), [(2, 4, 3), (1, 4, 5)], _gather_nd_batched),
    "scatter_element": (("n", 4, "w"), [(2, 4, 3), (1, 4, 5)],
                        lambda net, x: net.add_scatter(x, _small_indices(net, x), x, ScatterMode.ELEMENT,
                                                       axis=1).output),
    "scatter_nd": (("n", 4, "w"), [(2, 4, 3), (3, 4, 1)], _scatter_nd),
    "select": (("n", 3, "w"), [(2, 3, 4), (1, 3, 2)],
               lambda net, x: net.add_select(_greater_than_zero(net, x), x, _const(net, [[[1], [2], [3]]])).output),
    "select_runtime_vs_static": (("n", 3, "w"), [(2, 3, 4), (1, 3, 1)],
                                 lambda net, x: net.add_select(_greater_than_zero(net, x), x,
                                                               _const(net, np.arange(12).reshape(1, 3, 4))).output),
    "squeeze_unsqueeze": (("n", 1, "w"), [(2, 1, 3), (1, 1, 5)],
                          lambda net, x: net.add_unsqueeze(net.add_squeeze(x, (1,)).output, (0, -1)).output),
    "squeeze_runtime_dim": (("n", 3, "w"), [(2, 3, 1), (1, 3, 1)], lambda net, x: net.add_squeeze(x, (2,)).output),
    "topk_runtime_axis": (("n", "w"), [(2, 5), (3, 2)],
                          lambda net, x: net.add_topk(x, TopKOperation.MIN, 2, (1,)).get_output(1)),
    "matmul_broadcast": (("n", "m", 3), [(2, 4, 3), (1, 1, 3)],
                         lambda net, x: net.add_matrix_multiply(x, MatrixOperation.NONE,
                                                                _const(net, np.arange(12).reshape(1, 3, 4) / 7),
                                                                MatrixOperation.NONE).output),
    "matmul_runtime_k": (("n", "k"), [(1, 3), (4, 3)],
                         lambda net, x: net.add_matrix_multiply(x, MatrixOperation.NONE,
                                                                _const(net, np.arange(12).reshape(3, 4) / 5),
                                                                MatrixOperation.NONE).output),
    "matmul_vector_broadcast": (("n", 3), [(2, 3), (5, 3)],
                                lambda net, x: net.add_matrix_multiply(x, MatrixOperation.VECTOR,
                                                                       _const(net, np.ones((1, 3, 4))),
                                                                       MatrixOperation.NONE).output),
    "fully_connected": (("n", 2, 3, 3), [(2, 2, 3, 3), (1, 2, 3, 3)],
                        lambda net, x: net.add_fully_connected(x, 4).output),
    "einsum_broadcast": (("n", 3, "w"), [(2, 3, 4), (1, 3, 2)],
                         lambda net, x: net.add_einsum([x, _const(net, [[1, 2, 3]])], "ncw,nc->nw").output),
    "one_hot": (("n", "w"), [(2, 3), (4, 1)],
                lambda net, x: net.add_one_hot(_small_indices(net, x), _const(net, [-1, 2]), 4, -1).output),
    "cumulative_runtime_axis": (("n", 3, "w"), [(2, 3, 4), (1, 3, 1)],
                                lambda net, x: net.add_cumulative(x, 2, CumulativeOperation.SUM, exclusive=True,
                                                                  reverse=True).output),
    "lrn": (("n", 5, "h", "w"), [(1, 5, 2, 3), (2, 5, 1, 1)], lambda net, x: net.add_lrn(x, 3, 1.0, 0.75, 2.0).output),
    "softmax_runtime_axis": (("n", 3, "w"), [(2, 3, 4), (1, 3, 1)], lambda net, x: net.add_softmax(x, axes=(2,)).output),
    "reduce_runtime_axis_drop": (("n", 3, "w"), [(2, 3, 4), (1, 3, 2)],
                                 lambda net, x: net.add_reduce(x, ReduceOperation.MAX, (0, 2), False).output),
    "instance_norm": (("n", 3, "h", "w"), [(2, 3, 4, 2), (1, 3, 3, 3)], lambda net, x: net.add_instance_norm(x).output),
    "group_norm": (("n", 4, "h", "w"), [(2, 4, 3, 2), (1, 4, 2, 3)], lambda net, x: net.add_group_norm(x, 2).output),
    "layer_norm": (("n", "t", 5), [(2, 3, 5), (1, 1, 5)], lambda net, x: net.add_layer_norm(x, 5).output),
    "normalization_runtime_axis": (("n", 3, "w"), [(2, 3, 4), (1, 3, 2)],
                                   lambda net, x: net.add_normalization(x, np.full((1, 3, 1), 1.5, np.float32),
                                                                        np.full((1, 3, 1), 0.25, np.float32),
                                                                        (2,)).output),
    "parametric_relu": (("n", 3, "h", "w"), [(2, 3, 2, 2), (1, 3, 1, 4)],
                        lambda net, x: net.add_parametric_relu(x).output),
    "parametric_relu_tensor_slopes": (("n", 3, "w"), [(2, 3, 2), (1, 3, 4)],
                                      lambda net, x: net.add_parametric_relu(
                                          x, net.add_activation(x, ActivationType.SIGMOID).output).output),
    "scale_elementwise_runtime_spatial": (("n", 3, "h", "w"), [(2, 3, 2, 2), (1, 3, 2, 2)],
                                          lambda net, x: net.add_scale(
                                              x, ScaleMode.ELEMENTWISE,
                                              scale=np.arange(12, dtype=np.float32).reshape(3, 2, 2)).output),
    "scale_uniform": (("n", 3, "h", "w"), [(2, 3, 2, 2), (1, 3, 1, 5)],
                      lambda net, x: net.add_scale(x, ScaleMode.UNIFORM, shift=0.5, scale=2.0).output),
    "identity_cast_int": (("n", 3), [(2, 3), (1, 3)],
                          lambda net, x: net.add_cast(net.add_identity(net.add_cast(x, DataType.INT32).output).output,
                                                      DataType.FLOAT).output),
    "swish": (("n", 3), [(2, 3), (1, 3)], lambda net, x: net.add_swish(x).output),
    "hard_swish": (("n", "w"), [(2, 3), (1, 5)], lambda net, x: net.add_hard_swish(x).output),
    "silu": (("n", "w"), [(2, 3), (1, 5)], lambda net, x: net.add_silu(x).output),
    # Data-dependent output shapes: no runner in TensorRT-RTX (the build test expects netdsl's refusal).
    "non_zero": (("n", 3), [(2, 3), (4, 3)],
                 lambda net, x: net.add_non_zero(_greater_than_zero(net, x)).output),
    "nms": (("n", "m", 4), [(2, 6, 4), (1, 3, 4)], _nms),
})

# Cases TensorRT-RTX has no runner for: their build must be refused by netdsl before TensorRT builds.
NO_RTX_RUNNER = {"non_zero", "nms"}

def build(dims, builder, seed=0):
    net = Network("case")
    x = net.add_input("x", DataType.FLOAT, dims)
    net.mark_output(builder(net, x))
    rng = np.random.default_rng(seed)
    for name, w in net.weights().items():
        if not w.is_bound:
            value = rng.standard_normal(w.shape).astype(w.dtype.to_numpy())
            w.bind(np.abs(value) + 0.5 if name.endswith("variance") else value)
    return net
