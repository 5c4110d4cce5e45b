"""Post-training calibration on the reference executor: per-tensor histograms and an amax per tensor.

The reference executor runs the fp32 network over a calibration set; for every tensor the
quantization pass may quantize (:func:`calibration_tensors`: the activation inputs of
convolutions and matrix multiplies and both inputs of residual adds) a histogram of ``|x|`` is
collected, 2048 bins over [0, max |x| seen] (two passes: the first finds the range, the second
fills the bins, so the result does not depend on the order of the inputs within the set). From the
histogram one of four methods chooses ``amax``, the value quantized to the largest code (INT8:
scale = amax / 127, FP8: amax / 448):

* ``max``: the largest ``|x|`` (no clipping; the right choice for weights and for tensors whose
  extremes matter, e.g. a bounded activation).
* ``percentile``: the upper edge of the bin where the cumulative count reaches ``percentile``
  (default 99.99 %) — clips rare outliers.
* ``entropy``: TensorRT's entropy calibration (IInt8EntropyCalibrator2), as described in Szymon
  Migacz, "8-bit Inference with TensorRT" (GTC 2017): for every candidate threshold of ``i``
  bins, ``i`` from 128 to 2047, P = the first ``i`` bins with the outliers added to the last, Q =
  those bins merged into 128 levels and expanded back over the bins that were non-zero; the
  threshold minimising KL(P || Q) wins, ``amax = (m + 0.5) * bin width``. Before the search the
  zero bin takes the next bin's count, as in NVIDIA's reference implementation (TensorRT's
  pytorch-quantization, ``_compute_amax_entropy``): after a ReLU it holds every zeroed value, and
  left as it is that spike drags the threshold far down. Zero bins are smoothed
  as MXNet's transcription of the talk does (``eps = 1e-4``) so the divergence stays finite.
* ``mse``: the threshold (every 8th bin edge from bin 128 on) minimising the expected squared
  error of symmetric INT8 quantization (scale = t / 127, round half to even, clip) of the
  histogram's bin centres.

An ``entropy`` or ``mse`` amax that clips more than :data:`CLIP_WARNING_FRACTION` (1 %) of a
tensor's calibration values, counted from its histogram, draws a :class:`CalibrationWarning`: on a
spiky histogram (a stem ReLU over a zero image background shifted by a batch norm's bias) entropy
calibration keeps the spikes and clips the tail, which can cost most of a network's accuracy.

Feeds are mappings input name -> array, one per sample or batch (:func:`feed_list`), in the
inputs' dtypes: nothing is converted (:func:`npz_feeds` refuses another dtype, as
``netdsl.reference.execute`` does).

The calibration file is JSON, written atomically with sorted keys, so the same inputs give a
byte-identical file: tensor -> amax, the method and its parameters, the netdsl version, the
network's name and the SHA-256 of its weights (:func:`weights_digest`). It can also be written
in TensorRT's calibration-cache text format (:func:`write_calibration_cache`) for TensorRT <= 10's
legacy INT8 path (``IInt8EntropyCalibrator2.read_calibration_cache`` / ``set_dynamic_range``).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ..graph.enums import ElementWiseOperation, LayerType
from ..graph.errors import NetdslError

METHODS = ("max", "percentile", "entropy", "mse")
NUM_BINS = 2048
ENTROPY_START = 128     # the smallest candidate threshold, in bins (the talk: range(128, 2048))
QUANTIZED_LEVELS = 128  # INT8 magnitudes 0..127
SMOOTHING_EPS = 1e-4
# A calibrated amax clipping more than this fraction of a tensor's calibration values draws a
# CalibrationWarning (entropy and mse; max never clips, percentile clips what it is asked to). The
# percentile method's default clips 0.01 %: rare outliers. An entropy threshold that fits a
# long-tailed activation clips a few tenths of a percent at most (on an MNIST ResNet: 0.001-0.5 % on
# 12 of its 13 tensors); above 1 % the clipped values are no longer outliers but part of the
# distribution, as on that ResNet's stem ReLU, where entropy chose amax 0.43 of a max of 6.4, clipped
# 14.8 % of the values and cost 52.8 points of accuracy (a spiky histogram: zero background + BN bias).
CLIP_WARNING_FRACTION = 0.01
FORMAT = "netdsl-calibration"
FORMAT_VERSION = 1


class CalibrationError(NetdslError, ValueError):
    """A calibration that cannot be computed, read or used (one line naming the file or tensor)."""


class CalibrationWarning(UserWarning):
    """A calibration that was computed but looks harmful: an amax clipping more than
    :data:`CLIP_WARNING_FRACTION` of a tensor's calibration values (one line naming the tensor)."""


# -- which tensors --------------------------------------------------------------------------------

def is_constant(tensor) -> bool:
    """True for a tensor computed from constants only (weights fed through casts, shuffles, Q/DQ ...)."""
    seen = []
    stack = [tensor]
    while stack:
        t = stack.pop()
        if t.layer is None:
            return False
        if t.layer.type is LayerType.CONSTANT:
            continue
        if t.layer.type in (LayerType.CAST, LayerType.SHUFFLE, LayerType.IDENTITY, LayerType.QUANTIZE,
                            LayerType.DEQUANTIZE, LayerType.UNSQUEEZE, LayerType.SQUEEZE):
            if t.layer in seen:
                continue
            seen.append(t.layer)
            stack.extend(t.layer.inputs)
            continue
        return False
    return True


def is_residual_add(layer) -> bool:
    """An elementwise SUM of two float activations of the output's shape (no broadcast, no constant)."""
    return (layer.type is LayerType.ELEMENTWISE and layer.op is ElementWiseOperation.SUM
            and all(t.dtype.is_float and not is_constant(t) and t.shape == layer.outputs[0].shape
                    for t in layer.inputs))


def quantizable_inputs(layer) -> list:
    """The activation tensors of ``layer`` that explicit quantization quantizes (NVIDIA's recommended
    placement, TensorRT "Explicit Quantization" / Q/DQ placement recommendations): input 0 of a
    convolution, the non-constant inputs of a matrix multiply, both inputs of a residual add."""
    if layer.type is LayerType.CONVOLUTION:
        return [layer.inputs[0]] if layer.inputs[0].dtype.is_float else []
    if layer.type is LayerType.MATRIX_MULTIPLY:
        return [t for t in layer.inputs if t.dtype.is_float and not is_constant(t)]
    if is_residual_add(layer):
        return list(layer.inputs)
    return []


WEIGHTED = (LayerType.CONVOLUTION, LayerType.DECONVOLUTION, LayerType.MATRIX_MULTIPLY, LayerType.EINSUM,
            LayerType.RNN)


def tail_layers(network) -> set:
    """Layers from which no weighted layer (convolution, matmul ...) is reachable: the float tail
    (a detector's decode, post-processing before the outputs), which quantization leaves in float."""
    consumers: dict = {}
    for layer in network.layers:
        for t in layer.inputs:
            if t is not None:
                consumers.setdefault(t, []).append(layer)
    feeds_weighted = set()
    for layer in reversed(network.layers):
        if layer.type in WEIGHTED or any(c in feeds_weighted for t in layer.outputs for c in consumers.get(t, ())):
            feeds_weighted.add(layer)
    return {layer for layer in network.layers if layer not in feeds_weighted}


def quantized_layers(network) -> list:
    """The layers the int8 / fp8 pass puts Q/DQ on, in network order: convolutions (with kernel
    weights) and matrix multiplies with an operand to quantize, residual adds outside the tail."""
    tail = tail_layers(network)
    out = []
    for layer in network.layers:
        if layer in tail:
            continue
        if layer.type is LayerType.CONVOLUTION and "kernel" in layer.weights and layer.inputs[0].dtype.is_float:
            out.append(layer)
        elif layer.type is LayerType.MATRIX_MULTIPLY and all(t.dtype.is_float for t in layer.inputs):
            out.append(layer)
        elif is_residual_add(layer):
            out.append(layer)
    return out


def calibration_tensors(network) -> list[str]:
    """Names of the tensors a calibration records, in network order (each once): the activation
    inputs of :func:`quantized_layers`."""
    names: list[str] = []
    for layer in quantized_layers(network):
        for t in quantizable_inputs(layer):
            if t.name not in names:
                names.append(t.name)
    return names


# -- histograms -----------------------------------------------------------------------------------

@dataclass
class Histogram:
    """Counts of ``|x|`` in ``len(counts)`` equal bins over [0, ``amax``] (float64 edges).

    ``amax`` is the largest ``|x|`` seen; a tensor that was all zeros has amax 0 and every count
    in bin 0.
    """

    counts: np.ndarray
    amax: float

    @property
    def bin_width(self) -> float:
        return self.amax / len(self.counts) if self.amax > 0 else 0.0


def _progress(total: int, what: str, progress):
    """A tqdm bar on stderr when ``progress`` is True, or None when False; None (default) asks isatty."""
    show = sys.stderr.isatty() if progress is None else bool(progress)
    if not show or total <= 1:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=what, file=sys.stderr, leave=False, dynamic_ncols=True)


def feed_list(network, feeds, what: str = "calibrate", error=None) -> list:
    """``feeds`` as a list of input name -> array mappings, one per sample or batch.

    The contract of :func:`calibrate`, :func:`collect_histograms` and the accuracy functions: an
    iterable (list, generator ...) of mappings such as ``{"images": x}``, each fed to
    :func:`netdsl.reference.execute` as it is (a batch of any size the input accepts). A single
    mapping is taken as one batch (``{"images": X}`` is ``[{"images": X}]``: histograms and amax
    do not depend on how the samples are batched).

    Raises:
        CalibrationError (or ``error``): a bare array, a string or another non-iterable, or an
            element that is not a mapping — saying what to pass.
    """
    error = error or CalibrationError
    names = [t.name for t in network.inputs]
    one = "{" + ", ".join(f"{n!r}: x" for n in names) + "}"
    if isinstance(feeds, Mapping):
        return [feeds]
    if isinstance(feeds, np.ndarray) or isinstance(feeds, (str, bytes)) or not hasattr(feeds, "__iter__"):
        found = _described(feeds)
        raise error(f"{what}: feeds must be mappings input name -> array, one per sample or batch, e.g. "
                    f"[{one}] or [{one.replace(': x', ': x[i:i + 32]')} for i in range(0, len(x), 32)]; "
                    f"found {found}")
    out = list(feeds)
    for k, feed in enumerate(out):
        if not isinstance(feed, Mapping):
            found = _described(feed)
            raise error(f"{what}: feed {k} is {found}; each feed must be a mapping input name -> array, "
                        f"e.g. {one}")
    return out


def _described(value) -> str:
    """``a numpy.ndarray (4, 3) float32`` or ``a list``, for messages."""
    if isinstance(value, np.ndarray):
        return f"a numpy.ndarray {value.shape} {value.dtype.name}"
    return f"a {type(value).__name__}"


def collect_histograms(network, feeds: Iterable[Mapping[str, np.ndarray]], tensors=None, *,
                       num_bins: int = NUM_BINS, progress=None) -> tuple[dict[str, Histogram], int]:
    """Run ``network`` on every feed (twice: range, then bins) and histogram ``|x|`` per tensor.

    Args:
        network: fp32 Network, weights bound.
        feeds: input name -> array mappings (one per calibration sample or batch; a single mapping
            is one batch): :func:`feed_list`.
        tensors: names to record (default :func:`calibration_tensors`).
        num_bins: histogram bins (TensorRT's entropy calibrator: 2048).
        progress: True / False for a tqdm bar on stderr; None: when stderr is a terminal.
    Returns:
        (tensor name -> Histogram, number of feeds).
    Raises:
        CalibrationError: feeds that are not mappings (:func:`feed_list`), no feeds, an unknown tensor
            name, a non-finite value in a tensor.
        and the errors of the reference executor (bad feeds).
    """
    from ..reference import execute
    feeds = feed_list(network, feeds)
    if not feeds:
        raise CalibrationError(f"network {network.name!r}: the calibration set is empty")
    names = list(tensors) if tensors is not None else calibration_tensors(network)
    for name in names:
        try:
            network.tensor(name)
        except KeyError:
            raise CalibrationError(f"network {network.name!r} has no tensor {name!r} to calibrate") from None
    amax = {n: 0.0 for n in names}
    counts = {n: np.zeros(num_bins, np.int64) for n in names}
    bar = _progress(2 * len(feeds), "calibrate", progress)
    try:
        for sweep in (0, 1):
            for feed in feeds:
                values = execute(network, feed, outputs=names)
                for n in names:
                    x = np.abs(np.asarray(values[n], dtype=np.float32)).ravel()
                    if sweep == 0:
                        if x.size and not np.all(np.isfinite(x)):
                            raise CalibrationError(f"tensor {n!r} holds non-finite values on the calibration set")
                        amax[n] = max(amax[n], float(x.max()) if x.size else 0.0)
                    elif amax[n] > 0:
                        idx = np.minimum((x.astype(np.float64) * (num_bins / amax[n])).astype(np.int64), num_bins - 1)
                        counts[n] += np.bincount(idx, minlength=num_bins)
                    else:
                        counts[n][0] += x.size
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return {n: Histogram(counts[n], amax[n]) for n in names}, len(feeds)


# -- amax methods ---------------------------------------------------------------------------------

def amax_max(hist: Histogram) -> float:
    """The largest ``|x|`` seen."""
    return float(hist.amax)


def amax_percentile(hist: Histogram, percentile: float = 99.99) -> float:
    """Upper edge of the first bin whose cumulative count reaches ``percentile`` % of all counts."""
    if not 0 < percentile <= 100:
        raise CalibrationError(f"percentile must be in (0, 100], found {percentile!r}")
    total = hist.counts.sum()
    if hist.amax <= 0 or total == 0:
        return 0.0
    cdf = np.cumsum(hist.counts)
    wanted = math.ceil(total * percentile / 100.0 - 1e-9)  # the rank of the percentile sample, float-safe
    index = int(np.searchsorted(cdf, wanted, side="left"))
    return float(min(index + 1, len(hist.counts)) * hist.bin_width)


def _smooth(p: np.ndarray, eps: float = SMOOTHING_EPS) -> np.ndarray | None:
    """MXNet's ``_smooth_distribution``: move ``eps`` onto every zero bin, taken evenly from the others."""
    zeros = p == 0
    n_zeros = int(zeros.sum())
    n_nonzeros = p.size - n_zeros
    if n_nonzeros == 0:
        return None
    eps1 = eps * n_zeros / n_nonzeros
    return p + np.where(zeros, eps, -eps1)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) of two unnormalised non-negative vectors (scipy.stats.entropy's definition)."""
    p = p / p.sum()
    q = q / q.sum()
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def entropy_divergences(counts: np.ndarray, start: int = ENTROPY_START,
                        levels: int = QUANTIZED_LEVELS) -> np.ndarray:
    """KL(P || Q) for every candidate of ``i`` bins, ``i`` in [start, len(counts)); inf where undefined.

    Entry ``i - start`` is the divergence of threshold ``i`` (module docstring).
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.size
    out = np.full(max(n - start, 0), np.inf)
    suffix = np.concatenate([np.cumsum(counts[::-1])[::-1], [0.0]])  # suffix[i] = sum(counts[i:])
    for i in range(start, n):
        sliced = counts[:i]
        p = sliced.copy()
        p[-1] += suffix[i]
        nonzero = p != 0
        merged = i // levels
        starts = np.arange(levels) * merged
        sums = np.add.reduceat(sliced, starts)          # the last level runs to the end of the slice
        norms = np.add.reduceat(nonzero.astype(np.float64), starts)
        lengths = np.diff(np.append(starts, i))
        per_bin = np.divide(sums, norms, out=np.zeros_like(sums), where=norms != 0)
        q = np.repeat(per_bin, lengths)
        q[~nonzero] = 0.0
        ps, qs = _smooth(p), _smooth(q)
        if ps is None or qs is None:
            continue
        out[i - start] = _kl(ps, qs)
    return out


def amax_entropy(hist: Histogram, start: int = ENTROPY_START, levels: int = QUANTIZED_LEVELS) -> float:
    """TensorRT's entropy calibration threshold ``(m + 0.5) * bin width`` (module docstring)."""
    if hist.amax <= 0:
        return 0.0
    if len(hist.counts) <= start:
        raise CalibrationError(f"entropy calibration needs more than {start} bins, found {len(hist.counts)}")
    counts = np.array(hist.counts, dtype=np.float64)
    # The zero bin holds every value a ReLU zeroed: NVIDIA's reference implementation of this calibration
    # (TensorRT's pytorch-quantization, calib/histogram.py ``_compute_amax_entropy``) replaces its count
    # with the next bin's, so the spike at 0 does not pull the threshold down.
    counts[0] = counts[1]
    divergence = entropy_divergences(counts, start, levels)
    if not np.isfinite(divergence).any():
        return float(hist.amax)
    m = start + int(np.argmin(divergence))  # the first minimum on ties
    return float((m + 0.5) * hist.bin_width)


def amax_mse(hist: Histogram, start: int = ENTROPY_START, stride: int = 8, levels: int = 127) -> float:
    """The threshold among bin edges ``start, start + stride, ... len(counts)`` minimising the
    expected squared error of symmetric quantization to ``levels`` magnitudes (INT8: 127)."""
    if hist.amax <= 0:
        return 0.0
    n = len(hist.counts)
    width = hist.bin_width
    centres = (np.arange(n) + 0.5) * width
    candidates = np.arange(min(start, n), n + 1, stride)
    if candidates[-1] != n:
        candidates = np.append(candidates, n)
    thresholds = candidates * width
    scale = thresholds[:, None] / levels
    q = np.clip(np.rint(centres[None, :] / scale), 0, levels) * scale
    err = ((centres[None, :] - q) ** 2 * hist.counts[None, :]).sum(axis=1)
    return float(thresholds[int(np.argmin(err))])


def clipped_fraction(hist: Histogram, amax: float) -> float:
    """The fraction of the histogram's values above ``amax``: the counts of the bins wholly above it
    (lower edge >= ``amax``) over all counts. The bin holding ``amax`` is not counted, so this is a
    lower bound exact to within that bin's count (the histogram has no finer information)."""
    total = int(hist.counts.sum())
    if total == 0 or hist.amax <= 0 or amax >= hist.amax:
        return 0.0
    first = max(int(math.ceil(amax / hist.bin_width - 1e-6)), 0)
    return float(hist.counts[first:].sum() / total)


def compute_amax(hist: Histogram, method: str, percentile: float = 99.99) -> float:
    """amax of one histogram by ``method`` (one of :data:`METHODS`)."""
    if method == "max":
        return amax_max(hist)
    if method == "percentile":
        return amax_percentile(hist, percentile)
    if method == "entropy":
        return amax_entropy(hist)
    if method == "mse":
        return amax_mse(hist)
    raise CalibrationError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")


# -- the calibration ------------------------------------------------------------------------------

def weights_digest(network) -> str:
    """SHA-256 (hex) of the network's weight arrays: for each declared weight in name order, its
    name, the NumPy dtype string, the shape and the little-endian bytes.

    These are the arrays of the HDF5 file the network was bound from plus the constants its
    definition declares with a value (a detector's anchors): a digest of the weights the network
    computes with, which the file's arrays determine for a given model definition.

    Raises:
        CalibrationError: a weight is unbound.
    """
    return _digest((name, w.value) for name, w in network.weights().items())


def _digest(items) -> str:
    h = hashlib.sha256()
    for name, value in sorted(items, key=lambda kv: kv[0]):
        if value is None:
            raise CalibrationError(f"weights {name!r} are unbound: bind the weights before calibrating")
        a = np.ascontiguousarray(value)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass
class Calibration:
    """Per-tensor amax of one network with one set of weights.

    Attributes:
        amax: tensor name -> amax (float, >= 0) in the tensor's units.
        method: ``max``, ``percentile``, ``entropy`` or ``mse``.
        model: the network's name.
        weights_sha256: :func:`weights_digest` of the network calibrated.
        parameters: the method's parameters (bins, percentile ...) and the number of samples.
        netdsl_version: the netdsl that wrote it.
        weight_amax: optional weight name -> per-output-channel amax list (e.g. from
            quantization-aware training), used instead of the weights' own max.
    """

    amax: dict
    method: str
    model: str
    weights_sha256: str
    parameters: dict = field(default_factory=dict)
    netdsl_version: str = ""
    weight_amax: dict = field(default_factory=dict)

    def to_json(self) -> str:
        """Deterministic JSON text (sorted keys, floats as Python's shortest repr)."""
        data = {"format": FORMAT, "format_version": FORMAT_VERSION, "netdsl_version": self.netdsl_version,
                "model": self.model, "weights_sha256": self.weights_sha256, "method": self.method,
                "parameters": self.parameters, "tensors": {k: float(v) for k, v in self.amax.items()}}
        if self.weight_amax:
            data["weights"] = {k: [float(x) for x in v] for k, v in self.weight_amax.items()}
        return json.dumps(data, sort_keys=True, indent=2) + "\n"

    def save(self, path) -> str:
        """Write :meth:`to_json` to ``path`` atomically (``netdsl.files.atomic_output``); returns the path."""
        from ..files import atomic_output
        text = self.to_json()
        with atomic_output(path) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        return os.fspath(path)

    def check_network(self, network, source: str = "calibration") -> None:
        """Raise CalibrationError unless this calibration is for ``network`` (name and weights digest)."""
        if self.model != network.name:
            raise CalibrationError(f"{source}: calibrated for model {self.model!r}, network is {network.name!r}")
        digest = weights_digest(network)
        if digest != self.weights_sha256:
            raise CalibrationError(f"{source}: calibrated for weights sha256 {self.weights_sha256[:12]}…, the "
                                   f"network's weights are {digest[:12]}… (recalibrate with these weights)")

    def scale(self, tensor: str, qmax: float = 127.0) -> float:
        """``amax / qmax`` of ``tensor`` (a tiny positive scale for an all-zero tensor)."""
        a = float(self.amax[tensor])
        return a / qmax if a > 0 else 1.0 / qmax


def load_calibration(path) -> Calibration:
    """Read a calibration JSON file written by :meth:`Calibration.save`.

    Raises:
        CalibrationError: unreadable, not JSON, another format, missing keys or a bad amax —
            one line naming the file.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read the calibration file ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: not a JSON calibration file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CalibrationError(f"{path}: not a netdsl calibration file (expected \"format\": \"{FORMAT}\")")
    missing = [k for k in ("model", "weights_sha256", "method", "tensors") if k not in data]
    if missing:
        raise CalibrationError(f"{path}: missing {', '.join(missing)}")
    tensors = data["tensors"]
    for name, value in tensors.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise CalibrationError(f"{path}: tensor {name!r} has amax {value!r}; expected a finite number >= 0")
    return Calibration(amax=dict(tensors), method=data["method"], model=data["model"],
                       weights_sha256=data["weights_sha256"], parameters=data.get("parameters", {}),
                       netdsl_version=data.get("netdsl_version", ""), weight_amax=data.get("weights", {}))


def calibrate(network, feeds: Iterable[Mapping[str, np.ndarray]], method: str = "entropy", *, tensors=None,
              percentile: float = 99.99, num_bins: int = NUM_BINS, progress=None) -> Calibration:
    """Calibrate ``network`` on ``feeds`` with ``method``; returns a :class:`Calibration`.

    Args:
        network: the fp32 Network, weights bound.
        feeds: calibration samples or batches, each a mapping input name -> array, e.g.
            ``[{"images": x[i:i + 32]} for i in range(0, len(x), 32)]``, :func:`image_feeds`,
            :func:`npz_feeds`; a single mapping is one batch (:func:`feed_list`).
        method: ``entropy`` (default, TensorRT's), ``max``, ``percentile`` or ``mse``.
        tensors: tensor names to calibrate (default :func:`calibration_tensors`).
        percentile: for ``percentile``, in (0, 100].
        num_bins: histogram bins (2048).
        progress: tqdm bar on stderr (None: when it is a terminal).
    Raises:
        CalibrationError: an unknown method, feeds that are not mappings (:func:`feed_list`), an
            empty set, unbound weights, non-finite activations.
    Warns:
        CalibrationWarning: for ``entropy`` or ``mse``, per tensor whose amax clips more than
            :data:`CLIP_WARNING_FRACTION` (1 %) of its calibration values (:func:`clipped_fraction`
            of the histogram), naming the tensor, the amax, the largest ``|x|`` and the fraction.
    """
    from .. import __version__
    if method not in METHODS:
        raise CalibrationError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")
    digest = weights_digest(network)
    hists, count = collect_histograms(network, feeds, tensors, num_bins=num_bins, progress=progress)
    amax = {name: compute_amax(h, method, percentile) for name, h in hists.items()}
    if method in ("entropy", "mse"):
        _warn_clipping(hists, amax, method)
    params = {"num_bins": num_bins, "samples": count}
    if method == "percentile":
        params["percentile"] = percentile
    if method == "entropy":
        params.update(start_bin=ENTROPY_START, quantized_levels=QUANTIZED_LEVELS)
    return Calibration(amax=amax, method=method, model=network.name, weights_sha256=digest, parameters=params,
                       netdsl_version=__version__)


def _warn_clipping(hists, amax, method) -> None:
    """A :class:`CalibrationWarning` per tensor whose amax clips more than :data:`CLIP_WARNING_FRACTION`."""
    import warnings
    others = "percentile or mse" if method == "entropy" else "percentile or max"
    for name, h in hists.items():
        fraction = clipped_fraction(h, amax[name])
        if fraction > CLIP_WARNING_FRACTION:
            warnings.warn(CalibrationWarning(
                f"calibration: tensor {name!r}: {method} amax {amax[name]:.4g} clips {100 * fraction:.1f} % of its "
                f"calibration values (observed max |x| {h.amax:.4g}); above {100 * CLIP_WARNING_FRACTION:g} % clipped "
                f"often costs accuracy: check it with netdsl quantize, or calibrate with --method {others}"),
                stacklevel=3)


# -- TensorRT's calibration cache -----------------------------------------------------------------

def tensorrt_version_code(version: str) -> int:
    """TensorRT's NV_TENSORRT_VERSION of a version string: 8.6.1 -> 8601 (major * 1000 + minor * 100 +
    patch before 10), 10.8.0 -> 100800 (major * 10000 + minor * 100 + patch from 10 on)."""
    parts = [int(p) for p in str(version).split(".")[:3] if p.isdigit()]
    if not parts:
        raise CalibrationError(f"TensorRT version {version!r} is not a version such as 8.6.1")
    major, minor, patch = (parts + [0, 0])[:3]
    return major * (10000 if major >= 10 else 1000) + minor * 100 + patch


def write_calibration_cache(calibration: Calibration, path, tensorrt_version: str = "8.6.1",
                            qmax: float = 127.0) -> str:
    """Write TensorRT's INT8 calibration-cache text: header ``TRT-<version>-EntropyCalibration2``, then
    ``<tensor>: <hex of the big-endian float32 scale>`` per tensor, scale = amax / 127.

    The header names TensorRT's entropy calibrator 2, whose ``read_calibration_cache`` returns this
    file; the scales are this calibration's (of whichever method). Tensor names are the netdsl names,
    which TensorRT sees when the network is built by netdsl. Atomic; returns the path.
    """
    from ..files import atomic_output
    lines = [f"TRT-{tensorrt_version_code(tensorrt_version)}-EntropyCalibration2"]
    for name in sorted(calibration.amax):
        scale = np.float32(calibration.amax[name] / qmax)
        lines.append(f"{name}: {struct.pack('>f', float(scale)).hex()}")
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
    return os.fspath(path)


def read_calibration_cache(path) -> tuple[str, dict[str, float]]:
    """Read a TensorRT calibration cache: (header, tensor -> float32 scale).

    Raises:
        CalibrationError: no ``TRT-`` header or a malformed line (naming the file and line number).
    """
    text = Path(path).read_text(encoding="ascii")
    lines = text.splitlines()
    if not lines or not lines[0].startswith("TRT-"):
        raise CalibrationError(f"{path}: not a TensorRT calibration cache (no TRT- header)")
    scales = {}
    for number, line in enumerate(lines[1:], start=2):
        name, sep, value = line.rpartition(": ")
        try:
            scales[name] = struct.unpack(">f", bytes.fromhex(value.strip()))[0]
        except (ValueError, struct.error):
            raise CalibrationError(f"{path}:{number}: expected '<tensor>: <8 hex digits>', found {line!r}") from None
        if not sep:
            raise CalibrationError(f"{path}:{number}: expected '<tensor>: <8 hex digits>', found {line!r}")
    return lines[0], scales


# -- calibration inputs ---------------------------------------------------------------------------

def list_images(directory) -> list[Path]:
    """The image files (by suffix) directly in ``directory``, sorted by name
    (:func:`netdsl.detection.image.list_images`).

    Raises:
        CalibrationError: not a directory, or no image in it.
    """
    from ..detection.image import list_images as listed
    try:
        return listed(directory)
    except NetdslError as exc:
        raise CalibrationError(str(exc)) from None


def image_feeds(paths, input_name: str, size: tuple[int, int]) -> list[dict]:
    """One feed per image: decoded, RGB, resized to ``size`` (height, width), [0, 1], NCHW batch 1
    (``netdsl.detection.preprocess``, as ``netdsl detect`` feeds a detector)."""
    from ..detection.image import load_image
    from ..detection.preprocess import preprocess
    return [{input_name: preprocess(load_image(p), tuple(size))} for p in paths]


def npz_feeds(path, network) -> list[dict]:
    """Feeds from an ``.npz`` of the network's inputs, each array (samples, ...) with the samples
    along axis 0; sample k is fed as a batch of one (``x[k:k + 1]``). A ``.npy`` (one unnamed array)
    is accepted for a network with exactly one input: it holds that input's samples.

    The arrays must have the inputs' dtypes, as :func:`netdsl.reference.execute` requires of a feed:
    nothing is converted, so a uint8 0-255 image set is refused for a float32 input instead of being
    calibrated on values the network never sees at run time (convert it as the application does
    before inference, e.g. ``x.astype(np.float32) / 255``, and save that).

    Raises:
        CalibrationError: unreadable file, a ``.npy`` for a network with several inputs, a missing
            or unexpected input name, a dtype other than the input's, different sample counts.
    """
    from ..files import ARRAY_FILE_ERRORS, load_array_file, savez_hint
    names = [t.name for t in network.inputs]
    try:
        arrays = load_array_file(path)
    except ARRAY_FILE_ERRORS as exc:
        raise CalibrationError(f"{path}: cannot read the inputs as .npz or .npy ({exc})") from None
    if isinstance(arrays, np.ndarray):
        if len(names) != 1:
            raise CalibrationError(f"{path}: a .npy holds one unnamed array, network {network.name!r} has "
                                   f"{len(names)} inputs {names}: save one array per input in an .npz, "
                                   f"{savez_hint(path, names)}")
        arrays = {names[0]: arrays}
    missing = [n for n in names if n not in arrays]
    extra = sorted(set(arrays) - set(names))
    if missing or extra:
        raise CalibrationError(f"{path}: arrays must be the network inputs {names}; missing {missing}, "
                               f"unexpected {extra}")
    for t in network.inputs:
        want, found = t.dtype.to_numpy(), arrays[t.name].dtype
        if found != want:
            want = np.dtype(want).name
            example = (f"x.astype(np.{want}) / 255 for 0-255 pixels the application scales to [0, 1]"
                       if found.kind in "iu" and np.dtype(want).kind == "f" else f"x.astype(np.{want})")
            raise CalibrationError(f"{path}: input {t.name!r}: expected dtype {want}, found {found.name} "
                                   f"(nothing is converted: save the values the network sees at run time, "
                                   f"e.g. {example})")
    counts = {n: arrays[n].shape[0] if arrays[n].ndim else 0 for n in names}
    if len(set(counts.values())) != 1 or not next(iter(counts.values())):
        raise CalibrationError(f"{path}: every input needs the same number (> 0) of samples on axis 0, "
                               f"found {counts}")
    n = next(iter(counts.values()))
    return [{name: arrays[name][k:k + 1] for name in names} for k in range(n)]
