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
over the outputs). A quantized tensor read by several quantized layers (a residual block's input,
read by its first convolution and by its add) keeps its Q/DQ, with the same scale, while any one of
those layers is still quantized: leaving one layer in float never removes a bad scale there. So the
sweep also runs, for every such shared tensor, all of its quantized readers left in float together,
and ranks those groups with the layers. With a target agreement, the most sensitive layers or
groups are excluded one by one, in rank order, until the agreement reaches the target; the result
says when that took every quantized layer (nothing left quantized).
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
    kind: str = "detection"  # or "argmax": matched = positions whose argmax agrees, of reference = candidate

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
        if a.kind == "argmax":
            out.append(f"agreement {a.f1:.4f} (the argmax over the last axis equals fp32's at {a.matched} of "
                       f"{a.reference} positions) on {self.samples} sample(s)")
            return out
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
        agreement = Agreement(agree, total, total, 1.0, kind="argmax")
    return Report(errors, agreement, len(reference))


def evaluate(reference_network, candidate_network, feeds, detection=None, *, conf: float = 0.25, nms: float = 0.45,
             reference_outputs=None, progress=None) -> Report:
    """Run both networks on ``feeds`` and compare (module docstring).

    Args:
        reference_network: the fp32 Network; candidate_network: e.g. ``apply_precision(net, "int8", ...)``.
        feeds: held-out inputs, mappings input name -> array, one per sample or batch (batch 1 for a
            detector); a single mapping is one batch (``netdsl.quantization.calibration.feed_list``).
        detection: the model's ``DETECTION`` dict for detection agreement, or None.
        conf, nms: detection thresholds (as ``netdsl detect``).
        reference_outputs: the reference network's outputs on ``feeds``, if already computed.
    """
    from .calibration import feed_list
    feeds = feed_list(reference_network, feeds, "evaluate", NetdslError)
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
        groups: (tensor name, its quantized reader layers, report with all of them in float,
            sensitivity), most sensitive first: one per quantized tensor that two or more swept layers
            quantize (its Q/DQ stays while any of them is quantized).
        excluded: the layers the target-agreement search left in float, in order; final: the report
            then; candidates: the layers swept.
    """

    baseline: Report
    rows: list
    groups: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    final: Report | None = None
    candidates: list = field(default_factory=list)

    @property
    def excluded_everything(self) -> bool:
        """The target-agreement search left every swept layer in float (nothing it swept is quantized)."""
        return self.final is not None and bool(self.candidates) and set(self.candidates) <= set(self.excluded)

    def lines(self, top: int = 10) -> list[str]:
        out = [f"all quantized: agreement {self.baseline.agreement.f1:.4f}, mean relative RMS error "
               f"{self.baseline.error:.4g}", "most sensitive layers (left in float alone):"]
        for name, report, gain in self.rows[:top]:
            out.append(f"  {name:<28} error {report.error:.4g} ({-gain:+.4g})  agreement {report.agreement.f1:.4f}")
        if self.groups:
            out.append("shared tensors (every quantized layer reading it left in float):")
            for tensor, layers, report, gain in self.groups[:top]:
                out.append(f"  {tensor:<28} error {report.error:.4g} ({-gain:+.4g})  agreement "
                           f"{report.agreement.f1:.4f}  ({', '.join(layers)})")
        if self.final is not None:
            out.append(f"excluded {', '.join(self.excluded) or 'nothing'}: agreement {self.final.agreement.f1:.4f}, "
                       f"error {self.final.error:.4g}")
            if self.excluded_everything:
                out.append(f"that is every one of the {len(self.candidates)} quantized layers: nothing swept is "
                           f"quantized any more")
        return out


def shared_tensors(network, layers) -> list[tuple[str, list[str]]]:
    """(tensor name, reader layer names) for every tensor the precision pass quantizes for two or more
    of ``layers`` (names), in network order."""
    from .calibration import quantizable_inputs, quantized_layers
    wanted = set(layers)
    readers: dict = {}
    for layer in quantized_layers(network):
        if layer.name not in wanted:
            continue
        for t in quantizable_inputs(layer):
            if layer.name not in readers.setdefault(t.name, []):
                readers[t.name].append(layer.name)
    return [(tensor, names) for tensor, names in readers.items() if len(names) > 1]


def sensitivity_sweep(network, precision: str, calibration, feeds, detection=None, *, candidates=None,
                      target_agreement: float | None = None, exclude=(), target: str | None = None,
                      conf: float = 0.25, nms: float = 0.45, progress=None) -> SweepResult:
    """Quantize all but one layer at a time, and all but the readers of each shared quantized tensor,
    and rank them by sensitivity (module docstring).

    Args:
        network, precision, calibration, target: as :func:`netdsl.quantization.apply_precision`
            (``int8`` or ``fp8``).
        feeds: held-out inputs; detection: the model's ``DETECTION`` or None.
        candidates: layer names to sweep (default every layer the pass quantizes).
        target_agreement: when given, exclude the most sensitive layers or shared-tensor groups one by
            one (in rank order, layers and groups together) until the agreement is at least this (or
            every candidate is excluded: ``SweepResult.excluded_everything``).
        exclude: layers excluded in every run.
    Returns:
        a :class:`SweepResult`.
    """
    from .calibration import feed_list, quantized_layers
    from .passes import apply_precision
    feeds = feed_list(network, feeds, "sensitivity_sweep", NetdslError)
    if not feeds:
        raise NetdslError("sensitivity_sweep: no held-out inputs")
    names = list(candidates) if candidates is not None else [layer.name for layer in quantized_layers(network)]
    shared = shared_tensors(network, names)
    base_exclude = tuple(exclude)
    ref = run_all(network, feeds, progress=False)

    def report(extra):
        net = apply_precision(network, precision, calibration=calibration, exclude=base_exclude + tuple(extra),
                              target=target)
        return compare_outputs(ref, run_all(net, feeds, progress=False), detection, conf, nms)

    from .calibration import _progress
    bar = _progress(len(names) + len(shared) + 1, "sweep", progress)
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
        groups = []
        for tensor, readers in shared:
            r = report(tuple(readers))
            groups.append((tensor, readers, r, baseline.error - r.error))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    rows.sort(key=lambda row: (-row[2], row[0]))
    groups.sort(key=lambda g: (-g[3], g[0]))
    result = SweepResult(baseline, rows, groups, candidates=names)
    if target_agreement is not None:
        ranked = sorted([(gain, 0, name, [name]) for name, _, gain in rows]
                        + [(gain, 1, tensor, readers) for tensor, readers, _, gain in groups],
                        key=lambda unit: (-unit[0], unit[1], unit[2]))
        current = baseline
        for _, _, _, layers in ranked:
            if current.agreement.f1 >= target_agreement:
                break
            new = [name for name in layers if name not in result.excluded]
            if not new:
                continue
            result.excluded.extend(new)
            current = report(tuple(result.excluded))
        result.final = current
    return result
