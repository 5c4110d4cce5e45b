"""NumPy evaluation of a lowered TensorRT INetworkDefinition (no GPU needed), for the layer kinds the RNN
lowering uses, with the semantics of the TensorRT API reference and developer guide ("Working with
Loops", "Working with Dynamic Shapes"):

* ILoop: the iterator yields slice ``i`` — ``T-1-i`` when reversed — of its input along its axis; a
  recurrence outputs its first input at iteration 0, then its second input's value of the previous
  iteration; LoopOutput CONCATENATE / REVERSE stack the per-iteration values in forward / reverse order
  along ``axis``; LAST_VALUE of a recurrence is its value after the last iteration; the trip limit
  (COUNT) is a 0-D tensor;
* IShapeLayer: the input's dimensions; ISliceLayer: start/size/stride from its parameters or from its
  shape-tensor inputs 1-3, with SampleMode CLAMP reading the nearest in-bounds element; IShuffleLayer:
  first transpose, reshape (0 copies the input dimension, -1 is inferred; input 1 replaces the
  dimensions), second transpose; IElementWiseLayer LESS gives BOOL; ISelectLayer broadcasts.

Each layer's parameters are read from TensorRT once. Layers of a loop are those from its ITripLimitLayer to its last ILoopOutputLayer (the RNN lowering adds
each loop in one run); a loop-invariant layer among them is simply recomputed every iteration.
"""
import numpy as np


def as_type(trt, layer, cls):
    layer.__class__ = getattr(trt, cls)
    return layer


def _slice(trt, layer):
    s = as_type(trt, layer, "ISliceLayer")
    # a shape-tensor input (1-3) replaces the static parameter, which is then not read (TensorRT would warn)
    static = {i: tuple(getattr(s, attr)) for i, attr in ((1, "start"), (2, "shape"), (3, "stride"))
              if i >= layer.num_inputs or layer.get_input(i) is None}
    clamp = s.mode.name == "CLAMP"
    assert clamp or s.mode.name in ("STRICT_BOUNDS", "DEFAULT"), s.mode

    def run(args):
        data = args[0]
        start, size, stride = (tuple(int(v) for v in (static[i] if i in static else args[i])) for i in (1, 2, 3))
        out = data
        for axis, (a, n, st) in enumerate(zip(start, size, stride)):
            index = a + st * np.arange(n)
            if clamp:
                index = np.clip(index, 0, data.shape[axis] - 1)
            else:
                assert n == 0 or (index.min() >= 0 and index.max() < data.shape[axis]), (layer.name, index)
            out = np.take(out, index, axis=axis)
        return out
    return run


def _shuffle(trt, layer):
    s = as_type(trt, layer, "IShuffleLayer")
    first, second, placeholder = tuple(s.first_transpose), tuple(s.second_transpose), s.zero_is_placeholder
    static = tuple(s.reshape_dims) if layer.num_inputs < 2 or layer.get_input(1) is None else None

    def run(args):
        x = args[0].transpose(first[:args[0].ndim])
        dims = static if static is not None else tuple(int(v) for v in args[1])
        if placeholder:
            dims = tuple(x.shape[i] if d == 0 else d for i, d in enumerate(dims))
        x = x.reshape(dims)
        return x.transpose(second[:x.ndim])
    return run


_ELEMENTWISE = {"SUM": np.add, "SUB": np.subtract, "PROD": np.multiply, "LESS": np.less,
                "MAX": np.maximum, "MIN": np.minimum, "FLOOR_DIV": np.floor_divide}
_CAST = {"HALF": np.float16, "FLOAT": np.float32, "INT32": np.int32, "INT64": np.int64, "BOOL": np.bool_}
_ACTIVATION = {"SIGMOID": lambda v: 1 / (1 + np.exp(-v)), "TANH": np.tanh, "RELU": lambda v: np.maximum(v, 0)}


def compile_layer(trt, layer, kind):
    """``run(args) -> value`` of the single output of a non-loop layer (of LayerType ``kind``)."""
    lt = trt.LayerType
    if kind == lt.CONSTANT:
        c = as_type(trt, layer, "IConstantLayer")
        value = np.asarray(c.weights).reshape(tuple(c.shape))
        return lambda args: value
    if kind == lt.MATRIX_MULTIPLY:
        m = as_type(trt, layer, "IMatrixMultiplyLayer")
        assert m.op0 == m.op1 == trt.MatrixOperation.NONE
        return lambda args: np.matmul(*args)
    if kind == lt.ELEMENTWISE:
        fn = _ELEMENTWISE[as_type(trt, layer, "IElementWiseLayer").op.name]
        return lambda args: fn(*args)
    if kind == lt.ACTIVATION:
        fn = _ACTIVATION[as_type(trt, layer, "IActivationLayer").type.name]
        return lambda args: fn(args[0])
    if kind == lt.SLICE:
        return _slice(trt, layer)
    if kind == lt.SHUFFLE:
        return _shuffle(trt, layer)
    if kind == lt.CONCATENATION:
        axis = as_type(trt, layer, "IConcatenationLayer").axis
        return lambda args: np.concatenate(args, axis=axis)
    if kind == lt.CAST:
        to = _CAST[as_type(trt, layer, "ICastLayer").to_type.name]
        return lambda args: args[0].astype(to)
    if kind == lt.SHAPE:
        return lambda args: np.array(args[0].shape, np.int64)
    if kind == lt.SELECT:
        return lambda args: np.where(*args)
    raise AssertionError(f"evaluator has no rule for {kind}")


def _input_names(layer):
    return [None if layer.get_input(j) is None else layer.get_input(j).name for j in range(layer.num_inputs)]


def evaluate(trt, network, feeds):
    """Run a lowered INetworkDefinition on NumPy values; returns {output tensor name: array}.

    Float inputs are computed in float64, integer inputs keep their dtype.
    """
    values = {}
    for i in range(network.num_inputs):
        name = network.get_input(i).name
        value = np.asarray(feeds[name])
        values[name] = value.astype(np.float64) if value.dtype.kind == "f" else value
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    kinds = [layer.type for layer in layers]  # before as_type() recasts a layer (its .type changes meaning)
    lt = trt.LayerType
    boundary = (lt.TRIP_LIMIT, lt.ITERATOR, lt.RECURRENCE, lt.LOOP_OUTPUT)
    # (kind, input names, output name, run) per layer, read from TensorRT once
    steps = [(kind, _input_names(layer), layer.get_output(0).name if layer.num_outputs else None,
              None if kind in boundary else compile_layer(trt, layer, kind)) for layer, kind in zip(layers, kinds)]

    def arguments(names):
        return [None if n is None else values[n] for n in names]

    i = 0
    while i < len(layers):
        kind, ins, out, run = steps[i]
        if kind != lt.TRIP_LIMIT:
            values[out] = run(arguments(ins))
            i += 1
            continue
        # A loop: from its trip limit to its last loop output.
        name = as_type(trt, layers[i], "ITripLimitLayer").loop.name
        end = max(j for j, other in enumerate(layers) if kinds[j] == lt.LOOP_OUTPUT
                  and as_type(trt, other, "ILoopOutputLayer").loop.name == name)
        body = list(range(i + 1, end + 1))
        trip_value = values[ins[0]]
        assert np.ndim(trip_value) == 0, f"trip limit of {name} must be 0-D, found shape {np.shape(trip_value)}"
        trips = int(trip_value)
        reverse = {j: as_type(trt, layers[j], "IIteratorLayer").reverse for j in body if kinds[j] == lt.ITERATOR}
        axis = {j: as_type(trt, layers[j], "IIteratorLayer").axis for j in body if kinds[j] == lt.ITERATOR}
        per_iteration, next_value = {}, {}
        for it in range(trips):
            for j in body:
                kind, ins, out, run = steps[j]
                if kind == lt.ITERATOR:
                    values[out] = np.take(values[ins[0]], trips - 1 - it if reverse[j] else it, axis=axis[j])
                elif kind == lt.RECURRENCE:
                    values[out] = values[ins[0]] if it == 0 else next_value[out]
                elif kind == lt.LOOP_OUTPUT:
                    continue
                else:
                    values[out] = run(arguments(ins))
                per_iteration.setdefault(out, []).append(values[out])
            for j in body:  # the recurrences' values for the next iteration
                kind, ins, out, _ = steps[j]
                if kind == lt.RECURRENCE:
                    next_value[out] = values[ins[1]]
        for j in body:
            kind, ins, out, _ = steps[j]
            if kind != lt.LOOP_OUTPUT:
                continue
            lo = as_type(trt, layers[j], "ILoopOutputLayer")
            if lo.kind == trt.LoopOutput.LAST_VALUE:  # of a recurrence: its value after the last iteration
                values[out] = next_value[ins[0]]
            else:
                assert int(values[ins[1]]) == trips, "the output length is the trip count here"
                seq = per_iteration[ins[0]]
                if lo.kind == trt.LoopOutput.REVERSE:
                    seq = seq[::-1]
                values[out] = np.stack(seq, axis=lo.axis)
        i = end + 1
    return {network.get_output(k).name: values[network.get_output(k).name] for k in range(network.num_outputs)}
