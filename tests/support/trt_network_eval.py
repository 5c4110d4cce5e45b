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

Layers of a loop are those from its ITripLimitLayer to its last ILoopOutputLayer (the RNN lowering adds
each loop in one run); a loop-invariant layer among them is simply recomputed every iteration.
"""
import numpy as np


def as_type(trt, layer, cls):
    layer.__class__ = getattr(trt, cls)
    return layer


def _slice(trt, layer, args):
    s = as_type(trt, layer, "ISliceLayer")
    data = args[0]
    start, size, stride = (tuple(int(v) for v in (args[i] if i < len(args) and args[i] is not None else default))
                           for i, default in ((1, s.start), (2, s.shape), (3, s.stride)))
    clamp = s.mode.name == "CLAMP"
    out = data
    for axis, (a, n, st) in enumerate(zip(start, size, stride)):
        index = a + st * np.arange(n)
        if clamp:
            index = np.clip(index, 0, data.shape[axis] - 1)
        else:
            assert s.mode.name in ("STRICT_BOUNDS", "DEFAULT"), s.mode
            assert n == 0 or (index.min() >= 0 and index.max() < data.shape[axis]), (layer.name, index)
        out = np.take(out, index, axis=axis)
    return out


def _shuffle(trt, layer, args):
    s = as_type(trt, layer, "IShuffleLayer")
    x = args[0]
    x = x.transpose(tuple(s.first_transpose)[:x.ndim])
    if len(args) > 1 and args[1] is not None:
        dims = tuple(int(v) for v in args[1])
    else:
        dims = tuple(s.reshape_dims)
    if s.zero_is_placeholder:
        dims = tuple(x.shape[i] if d == 0 else d for i, d in enumerate(dims))
    x = x.reshape(dims)
    return x.transpose(tuple(s.second_transpose)[:x.ndim])


_ELEMENTWISE = {"SUM": np.add, "SUB": np.subtract, "PROD": np.multiply, "LESS": np.less,
                "MAX": np.maximum, "MIN": np.minimum, "FLOOR_DIV": np.floor_divide}
_CAST = {"HALF": np.float16, "FLOAT": np.float32, "INT32": np.int32, "INT64": np.int64, "BOOL": np.bool_}


def plain_layer(trt, layer, kind, args):
    """Value of the single output of a non-loop layer (of LayerType ``kind``)."""
    lt = trt.LayerType
    if kind == lt.CONSTANT:
        c = as_type(trt, layer, "IConstantLayer")
        return np.asarray(c.weights).reshape(tuple(c.shape))
    if kind == lt.MATRIX_MULTIPLY:
        m = as_type(trt, layer, "IMatrixMultiplyLayer")
        assert m.op0 == m.op1 == trt.MatrixOperation.NONE
        return np.matmul(*args)
    if kind == lt.ELEMENTWISE:
        return _ELEMENTWISE[as_type(trt, layer, "IElementWiseLayer").op.name](*args)
    if kind == lt.ACTIVATION:
        act = as_type(trt, layer, "IActivationLayer").type.name
        return {"SIGMOID": lambda v: 1 / (1 + np.exp(-v)), "TANH": np.tanh,
                "RELU": lambda v: np.maximum(v, 0)}[act](args[0])
    if kind == lt.SLICE:
        return _slice(trt, layer, args)
    if kind == lt.SHUFFLE:
        return _shuffle(trt, layer, args)
    if kind == lt.CONCATENATION:
        return np.concatenate(args, axis=as_type(trt, layer, "IConcatenationLayer").axis)
    if kind == lt.CAST:
        return args[0].astype(_CAST[as_type(trt, layer, "ICastLayer").to_type.name])
    if kind == lt.SHAPE:
        return np.array(args[0].shape, np.int64)
    if kind == lt.SELECT:
        return np.where(*args)
    raise AssertionError(f"evaluator has no rule for {kind}")


def _inputs(layer, values):
    return [None if layer.get_input(j) is None else values[layer.get_input(j).name] for j in range(layer.num_inputs)]


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
    kinds = {id(layer): layer.type for layer in layers}  # before as_type() recasts a layer (its .type changes meaning)
    lt = trt.LayerType
    i = 0
    while i < len(layers):
        layer = layers[i]
        if kinds[id(layer)] != lt.TRIP_LIMIT:
            values[layer.get_output(0).name] = plain_layer(trt, layer, kinds[id(layer)], _inputs(layer, values))
            i += 1
            continue
        # A loop: from its trip limit to its last loop output.
        name = as_type(trt, layer, "ITripLimitLayer").loop.name
        end = max(j for j, other in enumerate(layers) if kinds[id(other)] == lt.LOOP_OUTPUT
                  and as_type(trt, other, "ILoopOutputLayer").loop.name == name)
        body = layers[i + 1:end + 1]
        trip_value = values[layer.get_input(0).name]
        assert np.ndim(trip_value) == 0, f"trip limit of {name} must be 0-D, found shape {np.shape(trip_value)}"
        trips = int(trip_value)
        per_iteration, next_value = {}, {}
        for it in range(trips):
            for b in body:
                out = b.get_output(0).name
                if kinds[id(b)] == lt.ITERATOR:
                    itl = as_type(trt, b, "IIteratorLayer")
                    src = values[b.get_input(0).name]
                    values[out] = np.take(src, trips - 1 - it if itl.reverse else it, axis=itl.axis)
                elif kinds[id(b)] == lt.RECURRENCE:
                    values[out] = values[b.get_input(0).name] if it == 0 else next_value[out]
                elif kinds[id(b)] == lt.LOOP_OUTPUT:
                    continue
                else:
                    values[out] = plain_layer(trt, b, kinds[id(b)], _inputs(b, values))
                per_iteration.setdefault(out, []).append(values[out])
            for b in body:  # the recurrences' values for the next iteration
                if kinds[id(b)] == lt.RECURRENCE:
                    next_value[b.get_output(0).name] = values[b.get_input(1).name]
        for b in body:
            if kinds[id(b)] != lt.LOOP_OUTPUT:
                continue
            lo = as_type(trt, b, "ILoopOutputLayer")
            src = b.get_input(0)
            if lo.kind == trt.LoopOutput.LAST_VALUE:  # of a recurrence: its value after the last iteration
                values[b.get_output(0).name] = next_value[src.name]
            else:
                assert int(values[b.get_input(1).name]) == trips, "the output length is the trip count here"
                seq = per_iteration[src.name]
                if lo.kind == trt.LoopOutput.REVERSE:
                    seq = seq[::-1]
                values[b.get_output(0).name] = np.stack(seq, axis=lo.axis)
        i = end + 1
    return {network.get_output(k).name: values[network.get_output(k).name] for k in range(network.num_outputs)}
