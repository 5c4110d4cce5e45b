"""A darknet cfg as a netdsl model: what ``netdsl.models.load_model`` returns for a ``.cfg`` path.

A model module defines ``build_network(**params)``, ``DETECTION`` and
``PROFILES``; :class:`CfgModel` provides the same attributes for a cfg,
through :mod:`netdsl.frameworks.darknet.builder`.
"""
from __future__ import annotations

import os
from pathlib import Path



def read_names(path) -> list[str]:
    """Class names, one per line (darknet's ``.names`` files); trailing blank lines dropped.

    Raises:
        WeightsFileError: the file cannot be read or holds no name.
    """
    from ...graph.errors import WeightsFileError
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsFileError(f"cannot read class names {path}: {getattr(exc, 'strerror', None) or exc}") from None
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise WeightsFileError(f"class names file {path} holds no names")
    return names


def coco_names() -> list[str]:
    """The 80 COCO class names shipped in ``netdsl/models/coco.names``."""
    from netdsl import models
    return read_names(Path(models.__file__).with_name("coco.names"))[:80]


class CfgModel:
    """A darknet ``.cfg`` as a model module: ``build_network``, ``DETECTION``, ``PROFILES``, ``__name__``.

    ``DETECTION["class_names"]`` are the names given, else the 80 COCO names
    when the cfg has ``classes=80``, else ``class0``, ``class1`` ...
    (``netdsl detect --names FILE`` replaces them).
    """

    def __init__(self, cfg_path, class_names=None):
        from .builder import default_profiles, detection_spec, read_cfg_info
        self.cfg_path = os.fspath(cfg_path)
        self.__name__ = self.cfg_path
        info = read_cfg_info(self.cfg_path)
        if class_names is None and info.classes == 80:
            class_names = coco_names()
        self.DETECTION = detection_spec(self.cfg_path, class_names)
        self.PROFILES = default_profiles(self.cfg_path)
        self.STRIDE = info.stride

    def build_network(self, batch: int | None = None, height: int | None = None, width: int | None = None,
                      fold_batch_norm: bool = True, eps: float = 1e-5):
        """The cfg's Network: :func:`netdsl.frameworks.darknet.builder.build_from_cfg` with these arguments.

        Returns:
            Network with input ``images`` (batch, C, height, width) FLOAT and
            outputs ``boxes``, ``scores`` (a detector) or ``output``.
        Raises:
            DarknetCfgError, NetworkDefinitionError: as build_from_cfg.
        """
        from .builder import build_from_cfg
        return build_from_cfg(self.cfg_path, batch=batch, height=height, width=width, eps=eps,
                              fold_batch_norm=fold_batch_norm)
