"""Yolo-Fastest 1.1-xl (COCO, dog-qiuqiu; depthwise convolutions, 320 x 320), built from the darknet cfg ``models/cfg/yolo-fastest-1.1-xl.cfg`` by ``netdsl.frameworks.darknet.build_from_cfg``.

Input ``images``: (N, 3, H, W) float32 NCHW, RGB in [0, 1]; N, H, W runtime
dimensions unless fixed (``build_network(batch=1, height=..., width=...)``; H, W
multiples of ``STRIDE``). Outputs ``boxes`` (N, R, 4) x1, y1, x2, y2 in input
pixels and ``scores`` (N, R, 80) COCO class scores. Weights: ``weights/yolo-fastest-1.1-xl.h5`` (converted from the official file, see weights/README.md).
"""
from netdsl.models.darknet_zoo import cfg_module_attributes

globals().update(cfg_module_attributes("yolo-fastest-1.1-xl.cfg"))
