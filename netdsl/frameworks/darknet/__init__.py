"""Darknet: the ``.cfg`` parser and ``.weights`` conversion to and from the netdsl HDF5 store.

* :func:`parse_cfg`, :func:`conv_parameter_shapes` — ``.cfg`` files (``cfg.py``).
* :func:`convert_darknet` — ``.cfg`` + ``.weights`` -> HDF5; :func:`export_darknet` — HDF5 -> ``.weights`` (``weights.py``).
* :func:`build_from_cfg` — ``.cfg`` -> Network through the DSL (``builder.py``; docs/porting_darknet.md);
  :func:`check_cfg` — a cfg checked as the builder checks it (what the converter and exporter run first).
"""
from .cfg import ConvParams, Section, conv_parameter_shapes, parse_cfg  # noqa: F401
from .weights import convert_darknet, darknet_weight_name, export_darknet, read_darknet_header  # noqa: F401
from .builder import DarknetCfgError, build_from_cfg, check_cfg, detection_spec  # noqa: F401,E402
