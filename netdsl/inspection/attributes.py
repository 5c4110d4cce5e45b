"""Layer attributes for people and programs: a short key-attribute string per layer, and JSON-safe values."""
from __future__ import annotations

import enum

import numpy as np

from ..graph.shapes import is_static


def json_value(value):
    """``value`` as JSON-safe data: enums by name, tuples as lists, NumPy scalars and arrays as Python values.

    Anything else becomes its ``str``.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def json_attributes(layer) -> dict:
    """``layer.attrs`` as a JSON-safe dict (see :func:`json_value`)."""
    return {k: json_value(v) for k, v in layer.attrs.items()}


def _dims(values) -> str:
    return "×".join(str(v) for v in values)


def _same(values) -> str:
    """``(1, 1)`` -> ``"1"``; ``(1, 2)`` -> ``"1×2"``."""
    values = tuple(values)
    return str(values[0]) if len(set(values)) == 1 else _dims(values)


def _axes(axes) -> str:
    """``(2,)`` -> ``"axis 2"``; ``(2, 3)`` -> ``"axes 2, 3"``; an int is TensorRT's bitmask (bit i = axis i)."""
    if isinstance(axes, int):
        axes = tuple(i for i in range(axes.bit_length()) if axes >> i & 1)
    axes = tuple(axes)
    return f"axis {axes[0]}" if len(axes) == 1 else "axes " + ", ".join(map(str, axes))


def _padding(pre, post) -> str:
    pre, post = tuple(pre), tuple(post)
    if pre == post:
        return _same(pre)
    return f"{_same(pre)}/{_same(post)}"


def _window(a, kind: str) -> list:
    size = a["kernel_size_nd"] if kind != "POOLING" else a["window_size_nd"]
    parts = [f"{_dims(size)}", f"stride {_same(a['stride_nd'])}"]
    if any(not is_static(p) or p != 0 for p in (*a["pre_padding"], *a["post_padding"])):
        parts.append(f"pad {_padding(a['pre_padding'], a['post_padding'])}")
    if kind != "POOLING" and any(d != 1 for d in a["dilation_nd"]):
        parts.append(f"dilation {_same(a['dilation_nd'])}")
    return parts


def key_attributes(layer) -> str:
    """The attributes that identify what a layer does, in a few words.

    Examples: ``16 maps 3×3, stride 1, pad 1, batch norm folded`` (convolution),
    ``MAX 2×2, stride 2`` (pooling), ``LEAKY_RELU alpha=0.1`` (activation),
    ``axis 1`` (concatenation). Empty for layers with nothing to say
    (identity, select).
    """
    a, kind = layer.attrs, layer.type.name
    if kind in ("CONVOLUTION", "DECONVOLUTION"):
        parts = [f"{a['num_output_maps']} maps " + ", ".join(_window(a, kind))]
        if a["num_groups"] > 1:
            parts.append(f"groups {a['num_groups']}")
        if "batch_norm" in a:
            parts.append("batch norm folded")
        return ", ".join(parts)
    if kind == "POOLING":
        return f"{a['pooling_type'].name} " + ", ".join(_window(a, kind))
    if kind == "ACTIVATION":
        t = a["activation_type"]
        params = [f"{p}={a[p]:g}" for p in ("alpha", "beta") if a[p]]
        return " ".join([t.name] + params)
    if kind in ("ELEMENTWISE", "UNARY"):
        return a["op"].name
    if kind == "SCALE":
        roles = "/".join(r for r in ("scale", "shift", "power") if r in layer.weights)
        text = f"{a['mode'].name} {roles}".strip()
        return text + (", batch norm" if "batch_norm_eps" in a else "")
    if kind == "RESIZE":
        how = "scales " + "×".join(f"{s:g}" for s in a["scales"]) if a["scales"] else f"to {_dims(a['shape'])}"
        return f"{a['resize_mode'].name} {how}"
    if kind in ("CONCATENATION", "SOFTMAX", "CUMULATIVE", "ONE_HOT", "GATHER", "SCATTER"):
        parts = [a[k].name for k in ("op", "mode") if k in a and hasattr(a[k], "name")]
        parts.append(f"axis {a['axis']}")
        if kind == "ONE_HOT":
            parts.append(f"depth {a['depth']}")
        return " ".join(parts)
    if kind == "SHUFFLE":
        parts = []
        if tuple(a["first_transpose"]) != tuple(sorted(a["first_transpose"])):
            parts.append(f"transpose {tuple(a['first_transpose'])}")
        if a["resolved_dims"] is not None:
            parts.append(f"reshape {_dims(a['resolved_dims'])}")
        if tuple(a["second_transpose"]) != tuple(sorted(a["second_transpose"])):
            parts.append(f"then transpose {tuple(a['second_transpose'])}")
        return ", ".join(parts)
    if kind == "SLICE":
        text = f"start {tuple(a['start'])}"
        if any(s != 1 for s in a["stride"]):
            text += f" stride {tuple(a['stride'])}"
        return text + ("" if a["mode"].name == "STRICT_BOUNDS" else f" {a['mode'].name}")
    if kind == "MATRIX_MULTIPLY":
        return f"{a['op0'].name} × {a['op1'].name}"
    if kind == "REDUCE":
        return f"{a['op'].name} {_axes(a['axes'])}" + (" keep" if a["keep_dims"] else "")
    if kind == "TOPK":
        return f"{a['op'].name} k={a['k']} axis {a['axis']}"
    if kind == "NORMALIZATION":
        text = f"{_axes(a['axes'])} eps {a['epsilon']:g}"
        return text + (f" groups {a['num_groups']}" if a["num_groups"] > 1 else "")
    if kind == "LRN":
        return f"window {a['window_size']} alpha={a['alpha']:g} beta={a['beta']:g} k={a['k']:g}"
    if kind == "EINSUM":
        return a["equation"]
    if kind == "CAST":
        return f"to {a['to_type'].name}"
    if kind == "PADDING":
        return f"pad {_padding(a['pre_padding_nd'], a['post_padding_nd'])}"
    if kind in ("SQUEEZE", "UNSQUEEZE"):
        return _axes(a["axes"])
    if kind == "RNN":
        return (f"{a['op'].name} {a['num_layers']} layer(s) hidden {a['hidden_size']}"
                + (" bidirectional" if a["num_directions"] == 2 else ""))
    if kind == "CONSTANT":
        return ""
    if kind == "PARAMETRIC_RELU":
        w = layer.weights.get("slopes")
        return f"slopes {_dims(w.shape)}" if w is not None else "slopes tensor"
    return ""
