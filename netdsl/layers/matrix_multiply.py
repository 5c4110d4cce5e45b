"""matrix_multiply: ``Network.add_matrix_multiply`` (TensorRT IMatrixMultiplyLayer) and ``add_fully_connected``.

Semantics: TensorRT API reference, IMatrixMultiplyLayer, and the TensorRT
operator reference "MatrixMultiply". Each input is read through its
MatrixOperation: NONE (the last two dims are a matrix), TRANSPOSE (the last
two dims are a matrix, transposed) or VECTOR (the last dim is a vector). The
remaining leading dims are batch dims: both inputs must have the same number
of them, and each pair is equal or one of them is 1 (broadcast). The output
is ``batch + [M] + [N]``, where M is present when input0 is a matrix and N
when input1 is a matrix (matrix*vector -> vector, vector*vector -> scalar).

Runtime dimensions: batch dims broadcast as everywhere (equal or 1, see
:func:`netdsl.layers.select.broadcast_dims`); contracted dims K that are not
known equal when the network is defined are required equal (checked per
optimization profile and against the executor's feeds).

``add_fully_connected`` is TensorRT 8's IFullyConnectedLayer (removed in
TensorRT 10) built from the layers TensorRT 10 offers: shuffle, constant,
matrix multiply and elementwise.
"""
from __future__ import annotations

from ..graph.enums import ElementWiseOperation, LayerType, MatrixOperation
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, is_static_shape, prod, require_equal
from ._checks import FLOAT_TYPES, as_enum, check_dtype, fail, weights_arg
from .normalization import reshaped
from .select import broadcast_dims


def _operand(name, tensor, op, which):
    """Split ``tensor`` read through ``op`` into (batch dims, matrix dims or (K,) for a vector, K)."""
    need = 1 if op.name == "VECTOR" else 2
    if tensor.ndim < need:
        fail(name, f"input{which} {tensor.name!r} with MatrixOperation.{op.name} needs rank >= {need}, "
                   f"found shape {tensor.shape}")
    batch = tensor.shape[:tensor.ndim - need]
    if op.name == "VECTOR":
        return batch, None, tensor.shape[-1]
    rows, cols = tensor.shape[-2:]
    if op.name == "TRANSPOSE":
        rows, cols = cols, rows
    # For input0 the contracted dim is the columns of op(A); for input1 the rows of op(B).
    return batch, (rows, cols), cols if which == 0 else rows


@network_method
def add_matrix_multiply(self, input0, op0: MatrixOperation, input1, op1: MatrixOperation, *, name=None):
    """Add ``op0(input0) x op1(input1)`` with batch broadcasting.

    Args:
        input0: FLOAT/HALF/BF16 tensor, rank >= 2 (rank >= 1 for VECTOR).
        op0: MatrixOperation.NONE (last two dims are (M, K)), TRANSPOSE
            (last two dims are (K, M)) or VECTOR (last dim is (K,)).
        input1: tensor of input0's dtype; NONE (K, N), TRANSPOSE (N, K) or VECTOR (K,).
        op1: MatrixOperation for input1 (either op: the member or its name).
    Returns:
        Layer with one output ``broadcast(batch0, batch1) + [M if input0 is a
        matrix] + [N if input1 is a matrix]``, input0's dtype. The operations
        are ``layer.op0`` / ``layer.op1``.
    Raises:
        NetworkDefinitionError: an unknown op0/op1, rank too small for the operation, different
            numbers of batch dims, batch dims that do not broadcast, contracted
            dims that differ, or a dtype mismatch / non-float dtype. Runtime
            batch or contracted dims that break these rules raise ShapeError
            at an optimization profile or ExecutionError at the executor's feeds.
    """
    name = self.begin_layer(LayerType.MATRIX_MULTIPLY, name, [input0, input1])
    op0, op1 = as_enum(name, MatrixOperation, op0, "op0"), as_enum(name, MatrixOperation, op1, "op1")
    check_dtype(name, input0, FLOAT_TYPES, "input0")
    if input1.dtype != input0.dtype:
        fail(name, f"inputs must have the same dtype: {input0.name!r} is {input0.dtype.name}, "
                   f"{input1.name!r} is {input1.dtype.name} (add a cast)")
    batch0, mat0, k0 = _operand(name, input0, op0, 0)
    batch1, mat1, k1 = _operand(name, input1, op1, 1)
    if len(batch0) != len(batch1):
        fail(name, f"inputs must have the same number of batch dims: {input0.name!r} {input0.shape} "
                   f"({op0.name}) has {len(batch0)}, {input1.name!r} {input1.shape} ({op1.name}) has "
                   f"{len(batch1)}")
    batch = []
    for i, (a, b) in enumerate(zip(batch0, batch1)):
        d = broadcast_dims(self, name, (a, b), f"batch dim {i} of {input0.name!r} and {input1.name!r}")
        if d is None:
            fail(name, f"batch dim {i} does not broadcast: {input0.name!r} {input0.shape} vs "
                       f"{input1.name!r} {input1.shape}")
        batch.append(d)
    if is_static(k0) and is_static(k1):
        if k0 != k1:
            fail(name, f"contracted dims differ: op0({input0.name!r} {input0.shape}, {op0.name}) gives K={k0}, "
                       f"op1({input1.name!r} {input1.shape}, {op1.name}) gives K={k1}")
    else:
        require_equal(self, name, k0, k1, f"contracted dims K of op0({input0.name!r} {format_shape(input0.shape)}, "
                                          f"{op0.name}) and op1({input1.name!r} {format_shape(input1.shape)}, "
                                          f"{op1.name})")
    out = tuple(batch) + ((mat0[0],) if mat0 else ()) + ((mat1[1],) if mat1 else ())
    return self.append_layer(LayerType.MATRIX_MULTIPLY, name, [input0, input1], [(out, input0.dtype)],
                             dict(op0=op0, op1=op1))


@network_method
def add_fully_connected(self, input, num_outputs: int, kernel=None, bias=True, *, name=None):
    """Fully connected layer as TensorRT 8's IFullyConnectedLayer: ``y = x_flat W^T + b``.

    Flatten rule (TensorRT 8 API reference, IFullyConnectedLayer): the input
    must have rank >= 3; its last three dims are flattened into V = C*H*W
    and the leading dims into M, so ``(..., C, H, W)`` becomes an (M, V)
    matrix. The output is ``(..., K, 1, 1)``: the leading dims, then K and
    two unit dims. For an NCHW input that is ``(N, K, 1, 1)`` and
    ``y[n, :, 0, 0] = W @ x[n].reshape(-1) + b`` (torch.nn.Linear on
    ``x.flatten(1)``).

    TensorRT >= 10 has no IFullyConnectedLayer, so this adds the layers
    TensorRT recommends instead, named under ``<name>``: ``<name>.flatten``
    (shuffle to (M, V)), ``<name>.kernel`` (constant (K, V)), optionally
    ``<name>.kernel_cast`` (to the input's dtype), ``<name>.matmul``
    (MatrixOperation.NONE x TRANSPOSE -> (M, K)), with a bias
    ``<name>.bias`` (constant (1, K)), ``<name>.bias_cast`` and
    ``<name>.bias_add`` (elementwise SUM), and the final reshape named
    ``<name>`` itself.

    Args:
        input: FLOAT/HALF/BF16 tensor of rank >= 3, e.g. NCHW. Its leading
            dims may be runtime dims; the last three set the kernel's shape
            (K, C*H*W) and must be known when the network is defined.
        num_outputs: K, the number of output channels.
        kernel: None to declare weights ``<name>.kernel`` (K, V) float32 for a
            weight store, an array of that shape (row-major K x V, the layout
            of torch.nn.Linear.weight and TensorRT 8's kernel), or Weights.
        bias: True (default) to declare ``<name>.bias`` (K,), an array,
            Weights, or False / None for no bias.
    Returns:
        the final SHUFFLE Layer; its output is ``(..., K, 1, 1)`` of the
        input's dtype.
    Raises:
        NetworkDefinitionError: rank < 3, non-float dtype, num_outputs < 1,
            weights of the wrong shape, a runtime dim among the last three.
    """
    base = name or _free_name(self, "fully_connected")
    full = self.scoped_name(base)
    if self.has_layer(full):
        fail(full, f"a layer of that name already exists in network {self.name!r}")
    check_dtype(full, input, FLOAT_TYPES)
    if input.ndim < 3:
        fail(full, f"input {input.name!r} must have rank >= 3 (its last three dims are flattened, as "
                   f"IFullyConnectedLayer), found shape {input.shape}; add a shuffle first")
    num_outputs = int(num_outputs)
    if num_outputs < 1:
        fail(full, f"num_outputs must be >= 1, found {num_outputs}")
    lead = input.shape[:-3]
    if not is_static_shape(input.shape[-3:]):
        fail(full, f"the last three dims of input {input.name!r} {format_shape(input.shape)} are flattened into the "
                   f"kernel's columns (K, C*H*W), so they must be known when the network is defined")
    m, v = prod(lead), prod(input.shape[-3:])
    kernel_w = weights_arg(self, full, "kernel", kernel, (num_outputs, v))
    bias_w = weights_arg(self, full, "bias", None if bias is True else bias, (num_outputs,), optional=bias is not True)

    def _constant(w, shape, role):
        const = self.add_constant(shape, w, name=f"{base}.{role}").output
        if const.dtype != input.dtype:
            const = self.add_cast(const, input.dtype, name=f"{base}.{role}_cast").output
        return const

    flat = self.add_shuffle(input, reshape_dims=(m, v), name=f"{base}.flatten").output
    out = self.add_matrix_multiply(flat, MatrixOperation.NONE, _constant(kernel_w, (num_outputs, v), "kernel"),
                                   MatrixOperation.TRANSPOSE, name=f"{base}.matmul").output
    if bias_w is not None:
        b = _constant(reshaped(bias_w, (1, num_outputs)), (1, num_outputs), "bias")
        out = self.add_elementwise(out, b, ElementWiseOperation.SUM, name=f"{base}.bias_add").output
    return self.add_shuffle(out, reshape_dims=lead + (num_outputs, 1, 1), name=base)


def _free_name(net, base):
    """``base``, ``base1``, ``base2`` ...: the first whose scoped name no layer uses yet."""
    name, i = base, 0
    while net.has_layer(net.scoped_name(name)) or net.has_layer(net.scoped_name(f"{name}.flatten")):
        i += 1
        name = f"{base}{i}"
    return name

