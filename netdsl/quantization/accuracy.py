"""Accuracy before building: the quantized network simulated in the reference executor against fp32.

The reference executor runs Q/DQ layers with TensorRT's documented rounding and saturation and
HALF/BF16 layers rounded per layer, so the simulated network shows the quantization error the
engine's arithmetic adds (a GPU's kernels differ from the reference only by accumulation order and
fused-kernel rounding; see ``docs/precision.md``).

Per output: max and mean absolute error and the relative RMS error ``||q - f|| / ||f||`` against
the fp32 network on held-out inputs. For a detector (a model module with ``DETECTION``): the
detection agreement — the quantized detections (confidence threshold and NMS as ``netdsl detect``)
matched greedily, by descending confidence, to unmatched fp32 detections of the same class at
IoU >= 0.5; precision = matched / quantized detections, recall = matched / fp32 detections, and
their harmonic mean (F1) is "the agreement" (1.0 when both find nothing). For other networks the
agreement is the fraction of positions whose argmax over the last axis matches, averaged over
the outputs.

The sensitivity sweep quantizes all quantizable layers but one, for each of them, and ranks the
layers by how much leaving each one in float lowers the output error (the mean relative RMS error
over the outputs); ``auto_exclude`` then excludes the most sensitive layers one by one until the
agreement reaches a target.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..graph.errors import NetdslError


@dataclass
class OutputError:
    """Error of one output over all samples: ``max_abs``, ``mean_abs`` (output units) and
    ``relative_rms`` = ||q - f||_2 / ||f||_2 (dimensionless)."""

    name: str
    max_abs: float
    mean_abs: float
    relative_rms: float


@dataclass
class Agreement:
    """Detection (or argmax) agreement of a quantized network with fp32 over all samples."""

    matched: int
    reference: int
    candidate: int
    min_iou: float  # the smallest IoU of a matched pair (1.0 when none)

    @property
    def precision(self) -> float:
        return self.matched / self.candidate if self.candidate else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.reference if self.reference else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    """:func:`evaluate`'s result: errors per output, the agreement, and the mean relative RMS error."""

    errors: list
    agreement: Agreement
    samples: int

    @property
    def error(self) -> float:
        return float(np.mean([e.relative_rms for e in self.errors])) if self.errors else 0.0

    def lines(self) -> list[str]:
        out = [f"{e.name}: max |err| {e.max_abs:.4g}, mean |err| {e.mean_abs:.4g}, relative RMS {e.relative_rms:.4g}"
               for e in self.errors]
        a = self.agreement
        out.append(f"agreement {a.f1:.4f} (precision {a.precision:.4f}, recall {a.recall:.4f}; {a.matched} of "
                   f"{a.reference} reference / {a.candidate} quantized matched, min IoU {a.min_iou:.3f}) "
                   f"on {self.samples} sample(s)")
        return out


def match_detections(reference, candidate, iou_threshold: float = 0.5) -> list[tuple]:
    """Greedy matching by descending candidate confidence: (reference, candidate, IoU) per match,
    same class, IoU >= ``iou_threshold``, each detection used once."""
    from ..detection.nms import iou
    pairs = []
    used = set()
    for c in sorted(candidate, key=lambda d: -d.confidence):
        best, best_iou = None, iou_threshold
        for k, r in enumerate(reference):
            if k in used or r.class_id != c.class_id:
                continue
            v = float(iou(np.array(r.box), np.array([c.box]))[0])
            if v >= best_iou:
                best, best_iou = k, v
        if best is not None:
            used.add(best)
            pairs.append((reference[best], c, best_iou))
    return pairs


def detections(outputs, spec, conf: float = 0.25, nms: float = 0.45) -> list:
    """One image's detections (network-input pixels) from a detector's outputs (batch 1)."""
    from ..detection.nms import detect_from_outputs
    return detect_from_outputs(np.asarray(outputs[spec["boxes"]][0], np.float32),
                               np.asarray(outputs[spec["scores"]][0], np.float32), spec["class_names"], conf, nms)


def run_all(network, feeds, progress=None, what: str = "evaluate") -> list[dict]:
    """The network's outputs (float32) for every feed."""
    from ..reference import execute
    from .calibration import _progress
    bar = _progress(len(feeds), what, progress)
    out = []
    try:
        for feed in feeds:
            out.append({k: np.asarray(v, dtype=np.float32) for k, v in execute(network, feed).items()})
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out


def compare_outputs(reference: Sequence[Mapping], candidate: Sequence[Mapping], detection=None,
                    conf: float = 0.25, nms: float = 0.45) -> Report:
    """Errors and agreement of ``candidate`` outputs against ``reference`` outputs (one dict per sample)."""
    names = list(reference[0]) if reference else []
    errors = []
    for name in names:
        f = np.concatenate([np.asarray(r[name], np.float64).ravel() for r in reference])
        q = np.concatenate([np.asarray(c[name], np.float64).ravel() for c in candidate])
        d = np.abs(q - f)
        norm = np.linalg.norm(f)
        errors.append(OutputError(name, float(d.max()) if d.size else 0.0, float(d.mean()) if d.size else 0.0,
                                  float(np.linalg.norm(q - f) / norm) if norm > 0 else float(np.linalg.norm(q - f))))
    if detection is not None:
        matched = ref_count = cand_count = 0
        min_iou = 1.0
        for r, c in zip(reference, candidate):
            rd, cd = detections(r, detection, conf, nms), detections(c, detection, conf, nms)
            pairs = match_detections(rd, cd)
            matched += len(pairs)
            ref_count += len(rd)
            cand_count += len(cd)
            min_iou = min([min_iou] + [p[2] for p in pairs])
        agreement = Agreement(matched, ref_count, cand_count, min_iou)
    else:
        agree = total = 0
        for r, c in zip(reference, candidate):
            for name in names:
                a, b = np.asarray(r[name]), np.asarray(c[name])
                if a.ndim == 0:
                    continue
                agree += int(np.sum(a.argmax(-1) == b.argmax(-1)))
                total += int(np.prod(a.shape[:-1]))
        agreement = Agreement(agree, total, total, 1.0)
    return Report(errors, agreement, len(reference))


def evaluate(reference_network, candidate_network, feeds, detection=None, *, conf: float = 0.25, nms: float = 0.45,
             reference_outputs=None, progress=None) -> Report:
    """Run both networks on ``feeds`` and compare (module docstring).

    Args:
        reference_network: the fp32 Network; candidate_network: e.g. ``apply_precision(net, "int8", ...)``.
        feeds: held-out inputs (input name -> array, batch 1 for a detector).
        detection: the model's ``DETECTION`` dict for detection agreement, or None.
        conf, nms: detection thresholds (as ``netdsl detect``).
        reference_outputs: the reference network's outputs on ``feeds``, if already computed.
    """
    feeds = list(feeds)
    if not feeds:
        raise NetdslError("evaluate: no held-out inputs")
    ref = reference_outputs if reference_outputs is not None else run_all(reference_network, feeds, progress)
    cand = run_all(candidate_network, feeds, progress)
    return compare_outputs(ref, cand, detection, conf, nms)


@dataclass
class SweepResult:
    """:func:`sensitivity_sweep`'s result.

    Attributes:
        baseline: the report of the fully quantized network.
        rows: (layer name, report with that layer in float, sensitivity = baseline error - its error),
            most sensitive first.
        excluded: the layers ``auto_exclude`` left in float, in order; final: the report then.
    """

    baseline: Report
    rows: list
    excluded: list = field(default_factory=list)
    final: Report | None = None

    def lines(self, top: int = 10) -> list[str]:
        out = [f"all quantized: agreement {self.baseline.agreement.f1:.4f}, mean relative RMS error "
               f"{self.baseline.error:.4g}", "most sensitive layers (left in float alone):"]
        for name, report, gain in self.rows[:top]:
            out.append(f"  {name:<28} error {report.error:.4g} ({-gain:+.4g})  agreement {report.agreement.f1:.4f}")
        if self.final is not None:
            out.append(f"excluded {', '.join(self.excluded) or 'nothing'}: agreement {self.final.agreement.f1:.4f}, "
                       f"error {self.final.error:.4g}")
        return out


def sensitivity_sweep(network, precision: str, calibration, feeds, detection=None, *, candidates=None,
                      target_agreement: float | None = None, exclude=(), target: str | None = None,
                      conf: float = 0.25, nms: float = 0.45, progress=None) -> SweepResult:
    """Quantize all but one layer at a time and rank the layers by sensitivity (module docstring).

    Args:
        network, precision, calibration, target: as :func:`netdsl.quantization.apply_precision`
            (``int8`` or ``fp8``).
        feeds: held-out inputs; detection: the model's ``DETECTION`` or None.
        candidates: layer names to sweep (default every layer the pass quantizes).
        target_agreement: when given, exclude the most sensitive layers one by one (in rank order)
            until the agreement is at least this (or every candidate is excluded).
        exclude: layers excluded in every run.
    Returns:
        a :class:`SweepResult`.
    """
    from .calibration import quantized_layers
    from .passes import apply_precision
    feeds = list(feeds)
    names = list(candidates) if candidates is not None else [layer.name for layer in quantized_layers(network)]
    base_exclude = tuple(exclude)
    ref = run_all(network, feeds, progress=False)

    def report(extra):
        net = apply_precision(network, precision, calibration=calibration, exclude=base_exclude + tuple(extra),
                              target=target)
        return compare_outputs(ref, run_all(net, feeds, progress=False), detection, conf, nms)

    from .calibration import _progress
    bar = _progress(len(names) + 1, "sweep", progress)
    try:
        baseline = report(())
        if bar is not None:
            bar.update(1)
        rows = []
        for name in names:
            r = report((name,))
            rows.append((name, r, baseline.error - r.error))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    rows.sort(key=lambda row: (-row[2], row[0]))
    result = SweepResult(baseline, rows)
    if target_agreement is not None:
        current = baseline
        for name, _, _ in rows:
            if current.agreement.f1 >= target_agreement:
                break
            result.excluded.append(name)
            current = report(tuple(result.excluded))
        result.final = current
    return result
