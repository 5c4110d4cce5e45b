"""Errors of the TensorRT backend (besides netdsl.graph.errors.BackendUnavailableError)."""
from ..graph.errors import NetdslError


class EngineBuildError(NetdslError, RuntimeError):
    """TensorRT refused the network or the builder config.

    Raised when ``build_serialized_network`` returns None (the message carries
    TensorRT's logged errors), when a lowered layer's shape disagrees with
    netdsl's inference, or for a target name TensorRT-RTX does not know.
    """


class UnsupportedLayerError(NetdslError, NotImplementedError):
    """A netdsl layer type has no TensorRT lowering yet (message names the layer)."""
