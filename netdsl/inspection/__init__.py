"""What a network costs and looks like: parameters, FLOPs, a text / JSON report and a drawing.

* ``cost``: the FLOP rule of every LayerType (multiply-add = 2).
* ``params``: weight-file parameters and constants per layer, derived weights resolved.
* ``summary``: one pass over a Network, per layer and in total.
* ``report``: the ``netdsl inspect`` text lines and JSON.
* ``attributes``: key attributes per layer, JSON-safe attribute values.
* ``graph``: DOT / SVG / PNG drawing (needs the ``graph`` extra; SVG / PNG need Graphviz's ``dot``).
"""
from .cost import CostModelError, layer_flops  # noqa: F401
from .params import constant_weights, count_parameters, file_weights  # noqa: F401
from .summary import LayerSummary, NetworkSummary, format_flops, summarize  # noqa: F401
