"""Quantization and reduced precision, on top of the reference executor: calibration, the precision
pass and accuracy before building.

A graph-to-graph concern: ``netdsl.graph`` does not import it. Entry points:

* :func:`calibrate` (``netdsl calibrate``): per-tensor amax of a network over a calibration set.
* :func:`apply_precision` (``netdsl build --precision``): the network rebuilt with casts and Q/DQ.
* :func:`evaluate` / :func:`sensitivity_sweep` (``netdsl quantize``): the quantized network
  simulated against fp32 before any engine is built.

See ``docs/precision.md``.
"""
from .calibration import (METHODS, Calibration, CalibrationError, CalibrationWarning, calibrate,  # noqa: F401
                          calibration_tensors, image_feeds, list_images, load_calibration, npz_feeds,
                          read_calibration_cache, weights_digest, write_calibration_cache)
from .passes import PRECISIONS, Policy, PrecisionError, apply_policy, apply_precision  # noqa: F401
from .accuracy import Agreement, Report, SweepResult, compare_outputs, evaluate, sensitivity_sweep  # noqa: F401
