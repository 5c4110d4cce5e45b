"""YOLOv4-tiny (COCO; CSP route groups, scale_x_y), built from the darknet cfg ``models/cfg/yolov4-tiny.cfg`` by ``netdsl.frameworks.darknet.build_from_cfg``.

Input ``images``: (N, 3, H, W) float32 NCHW, RGB in [0, 1]; N, H, W runtime
dimensions unless fixed (``build_network(batch=1, height=..., width=...)``; H, W
multiples of ``STRIDE``). Outputs ``boxes`` (N, R, 4) x1, y1, x2, y2 in input
pixels and ``scores`` (N, R, 80) COCO class scores. Weights: none shipped; convert darknet's yolov4-tiny.weights with ``netdsl convert darknet``.
"""
from netdsl.models.darknet_zoo import cfg_module_attributes

globals().update(cfg_module_attributes("yolov4-tiny.cfg"))
