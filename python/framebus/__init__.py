"""framebus Python SDK: write a framebus pipeline stage in Python.

A stage is a ``Stage`` subclass with an ``id``, a ``Params`` dataclass (fields made with
``param``) and ``process(self, frame, ctx)``; framebus runs it in a worker process
(``python -m framebus.worker``) and hands it every frame as a read-only numpy array that views
the host's shared memory (no copy). Custom commands are methods marked ``@command``.
``framebus.testing`` runs a stage in a real worker for tests.
"""

from .context import Context, FrameInfo, Point
from .params import ParamError, param
from .protocol import PROTOCOL
from .stage import BadArgs, CommandError, Stage, command

__version__ = "0.1.0"

__all__ = [
    "Stage",
    "param",
    "command",
    "Context",
    "FrameInfo",
    "Point",
    "ParamError",
    "CommandError",
    "BadArgs",
    "PROTOCOL",
    "__version__",
]
