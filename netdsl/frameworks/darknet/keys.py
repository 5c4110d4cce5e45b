"""Which darknet cfg sections and keys the cfg builder builds, ignores or refuses.

Source of the key names: AlexeyAB/darknet src/parser.c (``parse_net_options``,
``parse_convolutional``, ``parse_maxpool``, ``parse_route``, ``parse_shortcut``,
``parse_upsample``, ``parse_dropout``, ``parse_reorg``, ``parse_yolo``,
``parse_region``, ``parse_activation`` and the per-layer keys read by
``parse_network_cfg_custom``).

Per section type:

* ``BUILT``: keys whose meaning the builder implements;
* ``IGNORED``: keys darknet reads only for training, display or scheduling
  (no effect on an inference forward pass);
* ``NEUTRAL``: keys darknet reads that change the forward pass, accepted
  only at their neutral value (given here); any other value is refused.

A key in none of these is unknown to darknet for that section: an error, as
is any section type not in ``SECTIONS``. ``UNSUPPORTED_SECTIONS`` are layer
types darknet has but the builder does not build (refused with their name).
"""
from __future__ import annotations

# Keys darknet's parse_network_cfg_custom reads for every layer section.
_EVERY_LAYER_IGNORED = {"stopbackward", "train_only_bn", "dont_update", "burnin_update", "dontload",
                        "dontloadscales", "learning_rate", "onlyforward", "show_receptive_field",
                        "stream", "wait_stream"}
_EVERY_LAYER_NEUTRAL = {"clip": ("0",)}

_NET_IGNORED = {
    "B1", "B2", "adam", "adversarial_lr", "angle", "aspect", "attention", "augment_speed",
    "badlabels_rejection_percentage", "batch", "blur", "burn_in", "contrastive", "contrastive_color",
    "contrastive_jit_flip", "cutmix", "decay", "dynamic_minibatch", "ema_alpha", "eps", "equidistant_point",
    "exposure", "flip", "gamma", "gaussian_noise", "hue", "inputs", "label_smooth_eps", "learning_rate",
    "learning_rate_min", "letter_box", "loss_scale", "max_batches", "max_chart_loss", "max_crop", "min_crop",
    "mixup", "momentum", "mosaic", "mosaic_bound", "num_sigmas_reject_badlabels", "optimized_memory", "policy",
    "power", "resize_step", "saturation", "scale", "scales", "seq_scales", "sequential_subdivisions",
    "sgdr_cycle", "sgdr_mult", "step", "steps", "subdivisions", "time_steps", "track", "try_fix_nan",
    "unsupervised", "use_cuda_graph", "weights_reject_freq", "workspace_size_limit_MB",
}

BUILT = {
    "net": {"width", "height", "channels"},
    "convolutional": {"filters", "size", "stride", "stride_x", "stride_y", "pad", "padding", "groups",
                      "batch_normalize", "activation"},
    "maxpool": {"size", "stride", "stride_x", "stride_y", "padding"},
    "avgpool": set(),
    "route": {"layers", "groups", "group_id"},
    "shortcut": {"from", "activation"},
    "upsample": {"stride"},
    "dropout": set(),
    "reorg": {"stride"},
    "activation": {"activation"},
    "yolo": {"mask", "anchors", "classes", "num", "scale_x_y", "new_coords"},
    "region": {"anchors", "classes", "num", "coords", "softmax"},
}

IGNORED = {
    "net": _NET_IGNORED,
    "convolutional": {"angle", "grad_centr"},
    "maxpool": set(),
    "avgpool": set(),
    "route": set(),
    "shortcut": set(),
    "upsample": set(),
    "dropout": {"probability", "dropblock", "dropblock_size_abs", "dropblock_size_rel"},
    "reorg": set(),
    "activation": set(),
    "yolo": {"beta_nms", "cls_normalizer", "counters_per_class", "delta_normalizer", "dets_for_show",
             "dets_for_track", "focal_loss", "ignore_thresh", "iou_loss", "iou_normalizer", "iou_thresh",
             "iou_thresh_kind", "jitter", "label_smooth_eps", "max", "max_delta", "nms_kind", "obj_normalizer",
             "objectness_smooth", "random", "resize", "show_details", "sim_thresh", "track_ciou_norm",
             "track_history_size", "truth_thresh"},
    "region": {"absolute", "bias_match", "class_scale", "classfix", "coord_scale", "focal_loss", "jitter", "log",
               "mask_scale", "max", "noobject_scale", "object_scale", "random", "rescore", "resize", "sqrt",
               "thresh"},
}

NEUTRAL = {
    "net": {},
    "convolutional": {"dilation": ("1",), "antialiasing": ("0",), "assisted_excitation": ("0",),
                      "binary": ("0",), "xnor": ("0",), "bin_output": ("0",), "cbn": ("0",), "sway": ("0",),
                      "rotate": ("0",), "stretch": ("0",), "stretch_sway": ("0",), "flipped": ("0",),
                      "dot": ("0",), "reverse": ("0",), "coordconv": ("0",), "share_index": ()},
    "maxpool": {"maxpool_depth": ("0",), "out_channels": ("1",), "antialiasing": ("0",),
                "maxpool_zero_nonmax": ("0",)},
    "avgpool": {},
    "route": {},
    "shortcut": {"weights_type": ("none",), "weights_normalization": ("none",)},
    "upsample": {"scale": ("1", "1.0")},
    "dropout": {},
    "reorg": {"reverse": ("0",)},
    "activation": {},
    "yolo": {"embedding_layer": (), "map": ()},
    "region": {"tree": (), "map": ()},
}

for _kind in BUILT:
    if _kind != "net":
        IGNORED[_kind] |= _EVERY_LAYER_IGNORED
        NEUTRAL[_kind].update(_EVERY_LAYER_NEUTRAL)

SECTIONS = tuple(BUILT)

# Layer types darknet's parser knows (parser.c string_to_layer_type) that the builder does not build.
UNSUPPORTED_SECTIONS = {"connected", "local", "batchnorm", "deconvolutional", "rnn", "gru", "lstm", "crnn",
                        "conv_lstm", "history", "implicit_add", "implicit_mul", "softmax", "cost", "crop",
                        "detection", "normalization", "local_avgpool", "reorg3d", "reorg_old", "scale_channels",
                        "sam", "Gaussian_yolo", "contrastive", "empty", "silence", "shortcut_weighted"}
