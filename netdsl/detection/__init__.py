"""Detection post-processing on the host: image I/O, NMS, drawing.

TensorRT-RTX has no NMS runner, so non-maximum suppression runs in NumPy
after the network's decoded ``boxes``/``scores`` outputs.
"""
from .image import load_image, preprocess  # noqa: F401
from .nms import Detection, detect_from_outputs, nms  # noqa: F401
