"""Helper for single-layer tests: build input -> [cast] -> one layer, run it on the reference executor."""
from netdsl import DataType, Network
from netdsl.reference import execute


def run_layer(method: str, x, cast=None, *, name: str = "layer", **kwargs):
    """``Network.<method>(src, name=name, **kwargs)`` on input ``x`` (optionally cast to ``cast`` first).

    Returns:
        (the Layer, its output computed by the reference executor).
    """
    net = Network(method)
    src = net.add_input("x", DataType.from_numpy(x.dtype), x.shape)
    if cast is not None:
        src = net.add_cast(src, cast).output
    layer = getattr(net, method)(src, name=name, **kwargs)
    net.mark_output(layer.output)
    return layer, execute(net, {"x": x})[layer.output.name]
