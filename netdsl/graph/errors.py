"""Exception types raised by netdsl.

Every message names the file, layer, tensor or weight it is about and, where
a shape or dtype is wrong, the expected and the found value.
"""


class NetdslError(Exception):
    """Base class of every error netdsl raises on purpose."""


class NetworkDefinitionError(NetdslError, ValueError):
    """A layer cannot be added: bad shape, dtype, axis or attribute.

    Raised at definition time by ``Network.add_*``; the message starts with
    the layer's scoped name.
    """


class WeightsError(NetdslError, ValueError):
    """Weights cannot be bound: missing, unexpected, wrong shape or dtype."""


class WeightsFileError(NetdslError, ValueError):
    """A weights file (HDF5, darknet ``.weights``) is unreadable or malformed."""


class BackendUnavailableError(NetdslError, RuntimeError):
    """A backend needs software or hardware that this machine lacks."""


class ExecutionError(NetdslError, RuntimeError):
    """A backend failed to execute a network (bad feed, unsupported layer)."""
