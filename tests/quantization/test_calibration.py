"""Calibration: the amax methods against independent computations, the entropy method against a
straightforward transcription of the algorithm in "8-bit Inference with TensorRT" (Migacz, GTC 2017)
with MXNet's zero-bin smoothing, deterministic files, TensorRT's calibration cache read back."""
import json
import math
import struct

import numpy as np
import pytest

from netdsl import ActivationType, DataType, ElementWiseOperation, Network
from netdsl.quantization import calibration as C
from netdsl.quantization import (CalibrationError, calibrate, load_calibration, read_calibration_cache,
                                 weights_digest, write_calibration_cache)


# -- an independent transcription of the entropy calibration --------------------------------------

def smooth(p, eps=0.0001):
    """MXNet's _smooth_distribution, transcribed."""
    is_zeros = [1.0 if v == 0 else 0.0 for v in p]
    n_zeros = sum(is_zeros)
    n_nonzeros = len(p) - n_zeros
    if n_nonzeros == 0:
        return None
    eps1 = eps * n_zeros / n_nonzeros
    return [v + (eps if z else -eps1) for v, z in zip(p, is_zeros)]


def kl(p, q):
    sp, sq = sum(p), sum(q)
    return sum((a / sp) * math.log((a / sp) / (b / sq)) for a, b in zip(p, q) if a > 0)


def transcribed_threshold(bins, width, start=128, levels=128):
    """The talk's loop: for i in range(128, len(bins)): P with outliers folded into bin i-1, Q = the first i bins
    merged into 128 levels and expanded over the non-zero bins; threshold (m + 0.5) * width for the minimum."""
    bins = [float(b) for b in bins]
    best, best_i = None, None
    for i in range(start, len(bins)):
        reference = bins[:i]
        reference[i - 1] += sum(bins[i:])
        merged = i // levels
        candidate = [0.0] * i
        for j in range(levels):
            lo = j * merged
            hi = i if j == levels - 1 else lo + merged
            total = sum(bins[lo:hi])
            nonzero = [k for k in range(lo, hi) if reference[k] != 0]
            for k in nonzero:
                candidate[k] = total / len(nonzero)
        p, q = smooth(reference), smooth(candidate)
        if p is None or q is None:
            continue
        d = kl(p, q)
        if best is None or d < best:
            best, best_i = d, i
    return (best_i + 0.5) * width


@pytest.mark.parametrize("seed,kind", [(0, "laplace"), (1, "relu"), (2, "outliers")])
def test_entropy_matches_the_transcription(seed, kind):
    rng = np.random.default_rng(seed)
    x = {"laplace": rng.laplace(0, 1, 20000), "relu": np.maximum(rng.normal(0.5, 1, 20000), 0),
         "outliers": np.concatenate([rng.normal(0, 1, 20000), rng.normal(0, 30, 20)])}[kind]
    bins = 640  # the transcription is slow in pure Python; the method is the same for 2048 bins
    hist = C.Histogram(np.histogram(np.abs(x), bins=bins, range=(0, np.abs(x).max()))[0], float(np.abs(x).max()))
    got = C.amax_entropy(hist)
    # as NVIDIA's reference (pytorch-quantization _compute_amax_entropy): the zero bin takes the next bin's count
    counts = np.concatenate([hist.counts[1:2], hist.counts[1:]])
    want = transcribed_threshold(counts, hist.bin_width)
    assert got == pytest.approx(want, rel=1e-12)
    if kind == "outliers":
        assert got < 0.5 * hist.amax  # clips the rare outliers


def test_entropy_2048_bins_divergences_match_the_transcription_at_sampled_thresholds():
    rng = np.random.default_rng(7)
    x = np.abs(rng.standard_t(3, 50000))
    hist = C.Histogram(np.histogram(x, bins=2048, range=(0, x.max()))[0], float(x.max()))
    div = C.entropy_divergences(hist.counts)
    for i in (128, 129, 300, 1000, 2047):
        bins = [float(b) for b in hist.counts]
        ref = bins[:i]
        ref[i - 1] += sum(bins[i:])
        merged, cand = i // 128, [0.0] * i
        for j in range(128):
            lo, hi = j * merged, (i if j == 127 else j * merged + merged)
            nz = [k for k in range(lo, hi) if ref[k] != 0]
            for k in nz:
                cand[k] = sum(bins[lo:hi]) / len(nz)
        assert div[i - 128] == pytest.approx(kl(smooth(ref), smooth(cand)), rel=1e-9)


def test_max_percentile_mse_against_direct_computations():
    rng = np.random.default_rng(3)
    x = np.abs(rng.normal(0, 1, 100000)).astype(np.float64)
    hist = C.Histogram(np.histogram(x, bins=2048, range=(0, x.max()))[0], float(x.max()))
    assert C.amax_max(hist) == x.max()
    # percentile: within one bin of NumPy's percentile of the samples
    assert abs(C.amax_percentile(hist, 99.9) - np.percentile(x, 99.9)) <= hist.bin_width
    # mse: its threshold's error, measured on the samples themselves, is within 2 % of the best threshold on a
    # fine grid searched directly on the samples
    def sample_mse(t):
        s = t / 127
        return np.mean((x - np.clip(np.rint(x / s), 0, 127) * s) ** 2)
    grid = np.linspace(x.max() / 16, x.max(), 400)
    best = min(sample_mse(t) for t in grid)
    assert sample_mse(C.amax_mse(hist)) <= best * 1.02


def small_net(weights_seed=0):
    rng = np.random.default_rng(weights_seed)
    net = Network("small")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8, 8))
    a = net.add_convolution_nd(x, 4, (3, 3), padding_nd=1, name="conv1").output
    a = net.add_activation(a, ActivationType.RELU, name="relu1").output
    b = net.add_convolution_nd(a, 4, (3, 3), padding_nd=1, name="conv2").output
    s = net.add_elementwise(a, b, ElementWiseOperation.SUM, name="residual").output
    y = net.add_convolution_nd(s, 2, (1, 1), name="head").output
    net.mark_output(y)
    net.bind_weights({n: rng.standard_normal(w.shape).astype(np.float32) * 0.5 for n, w in net.weights().items()})
    return net


def feeds(n=3, seed=10):
    rng = np.random.default_rng(seed)
    return [{"x": rng.standard_normal((1, 3, 8, 8)).astype(np.float32)} for _ in range(n)]


def test_calibration_tensors_and_histograms_from_the_executor():
    from netdsl.reference import execute
    net = small_net()
    assert C.calibration_tensors(net) == ["x", "relu1", "conv2", "residual"]
    f = feeds()
    hists, count = C.collect_histograms(net, f, progress=False)
    values = [execute(net, feed, outputs=["relu1"])["relu1"] for feed in f]
    amax = max(float(np.abs(v).max()) for v in values)
    want = sum(np.histogram(np.abs(v), bins=2048, range=(0, amax))[0] for v in values)
    assert count == 3 and hists["relu1"].amax == amax
    assert np.abs(hists["relu1"].counts - want).sum() <= 2  # bin edges: float64 floor vs np.histogram's search


def test_calibration_file_is_deterministic_and_records_model_and_digest(tmp_path):
    net = small_net()
    a = calibrate(net, feeds(), "entropy", progress=False).save(tmp_path / "a.json")
    b = calibrate(small_net(), feeds(), "entropy", progress=False).save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["model"] == "small" and data["method"] == "entropy" and data["netdsl_version"]
    assert data["weights_sha256"] == weights_digest(net) != weights_digest(small_net(1))
    loaded = load_calibration(a)
    assert loaded.amax == data["tensors"] and loaded.weights_sha256 == data["weights_sha256"]


def test_weights_digest_is_sha256_of_names_dtypes_shapes_and_bytes():
    import hashlib
    from netdsl.models import yolov3_tiny
    from netdsl.weights import load_weights
    net = yolov3_tiny.build_network(batch=1, height=64, width=64)
    store = load_weights(net, "weights/yolov3-tiny.h5")
    h = hashlib.sha256()
    for name in sorted(net.weights()):
        a = np.asarray(store[name]) if name in store else net.weights()[name].value
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode() + a.tobytes())
    assert weights_digest(net) == h.hexdigest()


def test_tensorrt_cache_reads_back(tmp_path):
    cal = calibrate(small_net(), feeds(), "max", progress=False)
    path = write_calibration_cache(cal, tmp_path / "calib.cache", "10.8.0")
    header, scales = read_calibration_cache(path)
    assert header == "TRT-100800-EntropyCalibration2"
    assert set(scales) == set(cal.amax)
    for name, amax in cal.amax.items():
        assert scales[name] == np.float32(amax / 127)
    line = [l for l in path and open(path).read().splitlines() if l.startswith("relu1:")][0]
    assert line == f"relu1: {struct.pack('>f', np.float32(cal.amax['relu1'] / 127)).hex()}"
    assert C.tensorrt_version_code("8.6.1") == 8601


def test_errors_name_the_file_or_tensor(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(CalibrationError, match=r"bad.json: not a netdsl calibration file"):
        load_calibration(bad)
    with pytest.raises(CalibrationError, match=r"unknown calibration method 'kl'"):
        calibrate(small_net(), feeds(), "kl", progress=False)
    with pytest.raises(CalibrationError, match=r"has no tensor 'nope'"):
        calibrate(small_net(), feeds(), tensors=["nope"], progress=False)
    with pytest.raises(CalibrationError, match=r"the calibration set is empty"):
        calibrate(small_net(), [], progress=False)


# -- calibration inputs: .npz / .npy files, feeds passed to calibrate -----------------------------

def samples(n=3, seed=10):
    """``n`` samples of small_net's input stacked on axis 0, as in an .npz (feeds() gives the same values)."""
    return np.concatenate([f["x"] for f in feeds(n, seed)])


def test_npz_feeds_reads_a_npy_of_the_only_input(tmp_path):
    np.save(tmp_path / "x.npy", samples())
    np.savez(tmp_path / "x.npz", x=samples())
    from_npy = C.npz_feeds(tmp_path / "x.npy", small_net())
    assert len(from_npy) == 3 and all(np.array_equal(a["x"], b["x"]) for a, b in zip(from_npy, feeds()))
    a = calibrate(small_net(), from_npy, "entropy", progress=False)
    b = calibrate(small_net(), C.npz_feeds(tmp_path / "x.npz", small_net()), "entropy", progress=False)
    assert a.to_json() == b.to_json()


def two_input_net():
    net = Network("two")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8, 8))
    y = net.add_input("y", DataType.FLOAT, (1, 3, 8, 8))
    s = net.add_elementwise(x, y, ElementWiseOperation.SUM, name="sum").output
    net.mark_output(net.add_convolution_nd(s, 2, (1, 1), name="conv").output)
    return net


def test_npz_feeds_errors_are_one_line_naming_the_file(tmp_path):
    np.save(tmp_path / "x.npy", samples())
    with pytest.raises(CalibrationError) as info:
        C.npz_feeds(tmp_path / "x.npy", two_input_net())
    assert str(info.value) == (f"{tmp_path / 'x.npy'}: a .npy holds one unnamed array, network 'two' has 2 inputs "
                               f"['x', 'y']: save one array per input in an .npz, "
                               f"np.savez('{tmp_path / 'x.npz'}', x=..., y=...)")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(CalibrationError) as info:
        C.npz_feeds(tmp_path / "empty.npz", small_net())  # np.load's EOFError, a traceback before
    assert str(info.value) == f"{tmp_path / 'empty.npz'}: cannot read the inputs as .npz or .npy (No data left in file)"
    np.savez(tmp_path / "a.npz", a=np.zeros(3))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "a.npz").read_bytes()[:40])
    with pytest.raises(CalibrationError, match=r"cut.npz: cannot read the inputs as .npz or .npy \(File is not a zip"):
        C.npz_feeds(tmp_path / "cut.npz", small_net())


def test_npz_feeds_refuses_a_dtype_other_than_the_inputs(tmp_path):
    """A 0-255 uint8 set was cast to float32 and calibrated on values the network never sees (amax 254
    for an input in [0, 1]); refused as netdsl.reference.execute refuses such a feed."""
    np.savez(tmp_path / "u8.npz", x=np.full((2, 3, 8, 8), 200, np.uint8))
    with pytest.raises(CalibrationError) as info:
        C.npz_feeds(tmp_path / "u8.npz", small_net())
    assert str(info.value) == (f"{tmp_path / 'u8.npz'}: input 'x': expected dtype float32, found uint8 (nothing is "
                               f"converted: save the values the network sees at run time, e.g. "
                               f"x.astype(np.float32) / 255 for 0-255 pixels the application scales to [0, 1])")
    np.savez(tmp_path / "f64.npz", x=samples().astype(np.float64))
    with pytest.raises(CalibrationError, match=r"f64.npz: input 'x': expected dtype float32, found float64 "
                                               r"\(nothing is converted: .* e.g. x.astype\(np.float32\)\)$"):
        C.npz_feeds(tmp_path / "f64.npz", small_net())


def test_calibrate_says_what_feeds_to_pass():
    net = small_net()
    x = samples()
    with pytest.raises(CalibrationError) as info:
        calibrate(net, x, progress=False)  # was TypeError: unhashable type: 'numpy.ndarray'
    assert str(info.value) == ("calibrate: feeds must be mappings input name -> array, one per sample or batch, e.g. "
                               "[{'x': x}] or [{'x': x[i:i + 32]} for i in range(0, len(x), 32)]; found a "
                               "numpy.ndarray (3, 3, 8, 8) float32")
    with pytest.raises(CalibrationError) as info:
        calibrate(net, [x[:1]], progress=False)
    assert str(info.value) == ("calibrate: feed 0 is a numpy.ndarray (1, 3, 8, 8) float32; each feed must be a "
                               "mapping input name -> array, e.g. {'x': x}")
    with pytest.raises(CalibrationError, match=r"^calibrate: feeds must be mappings .*; found a str$"):
        calibrate(net, "x", progress=False)


def test_a_single_mapping_is_one_batch():
    """{"x": batch} (was iterated as its key's characters: "no input named 'x'"...) calibrates as [{"x": batch}];
    batching does not change the histograms, so it equals one feed per sample."""
    net = Network("batch")
    x = net.add_input("x", DataType.FLOAT, ("n", 3, 8, 8))
    net.mark_output(net.add_convolution_nd(x, 2, (3, 3), padding_nd=1, name="conv").output)
    net.bind_weights({n: np.ones(w.shape, np.float32) for n, w in net.weights().items()})
    one = calibrate(net, {"x": samples()}, "max", progress=False)
    per_sample = calibrate(net, feeds(), "max", progress=False)
    assert one.amax == per_sample.amax == {"x": float(np.abs(samples()).max())}
    assert one.parameters["samples"] == 1 and per_sample.parameters["samples"] == 3


# -- the clipping warning ---------------------------------------------------------------------------

def spiky_net():
    """One convolution: its input ``x`` is the calibrated tensor, so the test sets its distribution."""
    net = Network("spiky")
    x = net.add_input("x", DataType.FLOAT, (1, 1, 64, 64))
    net.mark_output(net.add_convolution_nd(x, 2, (1, 1), name="conv").output)
    net.bind_weights({n: np.ones(w.shape, np.float32) for n, w in net.weights().items()})
    return net


def spiky_feeds(seed=0, n=4):
    """Like an MNIST ResNet's stem ReLU: 47 % zeros (background), per-channel constants of the background
    (BN bias) as spikes between 0.13 and 0.52, and 15 % spread exponentially up to about 5."""
    rng = np.random.default_rng(seed)
    levels = np.array([0.135, 0.151, 0.176, 0.387, 0.406, 0.415, 0.422, 0.422, 0.516])
    out = []
    for _ in range(n):
        kind = rng.random(4096)
        x = np.where(kind < 0.47, 0.0, rng.choice(levels, 4096))
        x[kind > 0.85] = rng.exponential(0.8, int((kind > 0.85).sum()))
        out.append({"x": x.astype(np.float32).reshape(1, 1, 64, 64)})
    return out


def test_clipped_fraction_counts_the_bins_above_amax():
    x = np.abs(np.random.default_rng(5).normal(0, 1, 20000))
    hist = C.Histogram(np.histogram(x, bins=2048, range=(0, x.max()))[0], float(x.max()))
    edge = 1000 * hist.bin_width  # at a bin edge the fraction is exact
    assert C.clipped_fraction(hist, edge) == pytest.approx(np.mean(x >= edge), abs=1 / x.size)
    inside = 1000.5 * hist.bin_width  # inside a bin: that bin is not counted
    assert C.clipped_fraction(hist, inside) == hist.counts[1001:].sum() / x.size
    assert C.clipped_fraction(hist, x.max()) == 0.0


def test_entropy_amax_clipping_over_1_percent_warns():
    """On a spiky histogram entropy calibration keeps the spikes and clips the tail (the MNIST ResNet's
    stem: amax 0.43 of 6.4, 14.8 % clipped, 40 % accuracy): a CalibrationWarning names the tensor, the
    amax, the observed max and the fraction clipped, and the other methods."""
    net, f = spiky_net(), spiky_feeds()
    with pytest.warns(C.CalibrationWarning) as record:
        cal = calibrate(net, f, "entropy", progress=False)
    values = np.abs(np.concatenate([v["x"].ravel() for v in f]))
    hists, _ = C.collect_histograms(net, f, progress=False)
    fraction = C.clipped_fraction(hists["x"], cal.amax["x"])
    assert abs(fraction - np.mean(values > cal.amax["x"])) <= hists["x"].counts.max() / values.size
    assert [str(w.message) for w in record] == [
        "calibration: tensor 'x': entropy amax 1.038 clips 3.8 % of its calibration values (observed max |x| "
        "5.544); above 1 % clipped often costs accuracy: check it with netdsl quantize, or calibrate with "
        "--method percentile or mse"]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("max", "percentile", "mse"):  # clip nothing here (percentile: 0.006 %)
            calibrate(net, f, method, progress=False)
        calibrate(small_net(), feeds(), "entropy", progress=False)
