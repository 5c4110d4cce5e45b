"""Convert the original weight files of the ported zoo models into netdsl HDF5 stores in weights/.

    python tools/convert_zoo_weights.py [MODEL ...] [--data tests/data] [--out weights]

MODEL is one of mtcnn-pnet, mtcnn-rnet, mtcnn-onet, fer-mini-xception,
textgenrnn (default: all). Each is imported strictly (every source tensor
taken, every netdsl weight filled) by netdsl's framework importers:

* mtcnn-*: facenet-pytorch 2.6.0 state dicts ``torch/mtcnn/{pnet,rnet,onet}.pt``
  with ``netdsl.frameworks.torch_import`` (identity mapping: the model's
  scopes are the torch module names);
* fer-mini-xception: ``keras/fer_emotion_model.hdf5`` (fer 25.10.3, Keras
  2.0.5 full model) with ``netdsl.frameworks.keras_import``, mapping
  ``netdsl.models.fer_mini_xception.KERAS_LAYERS``, epsilon checked (1e-3);
* textgenrnn: ``keras/textgenrnn_weights.hdf5`` (textgenrnn 2.0.0, Keras
  2.1.5 weights only; CuDNNLSTM layers inferred from their bias size) with
  the identity mapping.

LeNet-5's weights are trained, not converted: ``tools/train_lenet5.py``.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def convert(model: str, data: Path, out: Path) -> Path:
    """Convert one model's weights; returns the written path."""
    from netdsl.frameworks.keras_import import convert_keras
    from netdsl.frameworks.torch_import import convert_torch
    from netdsl.models import load_model

    module = load_model(model)
    net = module.build_network()
    dest = out / f"{model}.h5"
    if model.startswith("mtcnn-"):
        src = data / "torch" / "mtcnn" / f"{model.split('-')[1]}.pt"
        convert_torch(src, net, dest, source=f"facenet-pytorch 2.6.0 {src.name} (md5 {_md5(src)})")
    elif model == "fer-mini-xception":
        src = data / "keras" / "fer_emotion_model.hdf5"
        convert_keras(src, net, dest, module.KERAS_LAYERS, batch_norm_eps=module.BN_EPS,
                      source=f"fer 25.10.3 {src.name} (Keras 2.0.5, md5 {_md5(src)})")
    elif model == "textgenrnn":
        src = data / "keras" / "textgenrnn_weights.hdf5"
        convert_keras(src, net, dest, source=f"textgenrnn 2.0.0 {src.name} (Keras 2.1.5, md5 {_md5(src)})")
    else:
        raise SystemExit(f"convert_zoo_weights: unknown model {model!r}")
    return dest


MODELS = ("mtcnn-pnet", "mtcnn-rnet", "mtcnn-onet", "fer-mini-xception", "textgenrnn")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(MODELS))
    parser.add_argument("--data", type=Path, default=REPO / "tests" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "weights")
    args = parser.parse_args(argv)
    for model in args.models:
        print(f"{model}: wrote {convert(model, args.data, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
