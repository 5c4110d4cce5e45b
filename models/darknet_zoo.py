"""Zoo models built from a darknet cfg shipped in ``models/cfg/`` (installed as ``netdsl.models.cfg``).

Each thin model module (``yolov4.py`` ...) calls :func:`cfg_module_attributes`
to get ``build_network``, ``DETECTION``, ``PROFILES``, ``CFG`` and
``STRIDE`` for its cfg (:class:`netdsl.frameworks.darknet.model.CfgModel`).
"""
from __future__ import annotations

from pathlib import Path

CFG_DIR = Path(__file__).with_name("cfg")


def cfg_module_attributes(cfg_name: str) -> dict:
    """The module attributes of the zoo model built from ``models/cfg/<cfg_name>``.

    Returns:
        dict with ``CFG`` (Path), ``build_network`` (batch, height, width,
        fold_batch_norm, eps -> Network), ``DETECTION``, ``PROFILES``, ``STRIDE``.
    Raises:
        DarknetCfgError: the cfg cannot be built.
    """
    from netdsl.frameworks.darknet.model import CfgModel
    model = CfgModel(CFG_DIR / cfg_name)
    return dict(CFG=CFG_DIR / cfg_name, build_network=model.build_network, DETECTION=model.DETECTION,
                PROFILES=model.PROFILES, STRIDE=model.STRIDE)
