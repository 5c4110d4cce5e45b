"""Detection on the host: image reading, preprocessing, NMS, drawing.

TensorRT-RTX has no NMS runner, so non-maximum suppression runs in NumPy
after the network's decoded ``boxes``/``scores`` outputs.
"""
from .image import ImageError, ImageWarning, load_image, read_header  # noqa: F401
from .nms import Detection, detect_from_outputs, nms  # noqa: F401
from .preprocess import preprocess  # noqa: F401
