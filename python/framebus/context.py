"""The per-frame context a stage's ``process(frame, ctx)`` gets: the frame's metadata, the
points earlier stages published, and the calls that publish this stage's signals, points,
result, widgets and notifications. One context is reused for every frame (``begin`` clears
it), so the frame path allocates little.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

__all__ = ["Context", "Point", "FrameInfo", "LEVELS"]

#: Notification levels (``ctx.notify(level, ...)``).
LEVELS = ("info", "warning", "error", "success")


class Point(NamedTuple):
    """A named point in pixels, with a confidence score."""

    name: str
    x: float
    y: float
    score: float


class FrameInfo(NamedTuple):
    """What the host says about a frame (the worker protocol's ``frame.frame``)."""

    frame_id: int
    source: str
    source_index: int
    t_ns: int
    width: int
    height: int
    stride: int
    format: str


class Context:
    """What ``process(frame, ctx)`` reads and writes for one frame.

    Read: ``frame_id``, ``t_ns``, ``source``, ``source_index``, ``width``, ``height``,
    ``stride``, ``format``, ``info`` (a :class:`FrameInfo`), ``state`` (the run state),
    ``points`` (earlier stages' points, then this stage's), ``find_point(name)``.
    Write: ``signal``, ``point``, ``output`` (or assign ``result``), ``widget``, ``notify``,
    ``skip``.
    """

    __slots__ = (
        "info",
        "state",
        "points",
        "result",
        "signals",
        "published",
        "widgets",
        "notifications",
        "flow",
    )

    def __init__(self, info: Optional[FrameInfo] = None, points: Optional[List[Point]] = None,
                 state: str = "running") -> None:
        self.info: FrameInfo = info or FrameInfo(0, "", 0, 0, 0, 0, 0, "gray8")
        self.state = state
        #: Points of earlier stages this frame, then the ones this stage published.
        self.points: List[Point] = list(points or [])
        #: The stage's result for this frame (its namespace in the snapshot); JSON-able.
        self.result: Any = None
        self.signals: List[Dict[str, Any]] = []
        self.published: List[Dict[str, Any]] = []
        self.widgets: List[Dict[str, Any]] = []
        self.notifications: List[Dict[str, Any]] = []
        self.flow = "continue"

    def begin(self, info: FrameInfo, points: List[Point], state: str) -> None:
        """Clears the context for a new frame (the worker calls it)."""
        self.info = info
        self.state = state
        self.points = points
        self.result = None
        self.signals = []
        self.published = []
        self.widgets = []
        self.notifications = []
        self.flow = "continue"

    # Frame metadata.
    @property
    def frame_id(self) -> int:
        """Per-source frame number."""
        return self.info.frame_id

    @property
    def t_ns(self) -> int:
        """Capture time in nanoseconds."""
        return self.info.t_ns

    @property
    def source(self) -> str:
        """Source id (``camera_0``)."""
        return self.info.source

    @property
    def source_index(self) -> int:
        """Index of the source in the config."""
        return self.info.source_index

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self.info.width

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self.info.height

    @property
    def stride(self) -> int:
        """Bytes per row in the shared buffer."""
        return self.info.stride

    @property
    def format(self) -> str:
        """Pixel format: ``gray8``, ``rgb8``, ``bgr8``, ``yuyv`` or ``nv12``."""
        return self.info.format

    def find_point(self, name: str) -> Optional[Point]:
        """The last point called ``name`` published this frame, if any."""
        for p in reversed(self.points):
            if p.name == name:
                return p
        return None

    # Publishing.
    def signal(self, name: str, value: float) -> None:
        """Publishes a scalar signal (``bright``)."""
        self.signals.append({"name": str(name), "value": float(value)})

    def point(self, name: str, x: float, y: float, score: float = 1.0) -> None:
        """Publishes a named point for later stages."""
        p = Point(str(name), float(x), float(y), float(score))
        self.points.append(p)
        self.published.append({"name": p.name, "x": p.x, "y": p.y, "score": p.score})

    def output(self, value: Any) -> None:
        """Sets this frame's result (shown under the stage's namespace); JSON-able."""
        self.result = value

    def widget(self, id: str, label: str, value: Optional[float] = None, unit: str = "",  # noqa: A002
               min: Optional[float] = None, max: Optional[float] = None) -> None:  # noqa: A002
        """Publishes a dashboard widget for this frame (the host prefixes ``id`` with the
        stage id, as for a Rust stage)."""
        self.widgets.append({
            "id": str(id),
            "label": str(label),
            "value": None if value is None else float(value),
            "unit": str(unit),
            "min": None if min is None else float(min),
            "max": None if max is None else float(max),
        })

    def notify(self, level: str, title: str, message: str = "") -> None:
        """Raises a toast in the UI; ``level`` is info, warning, error or success."""
        if level not in LEVELS:
            raise ValueError(f"notification level {level!r} is not one of {', '.join(LEVELS)}")
        self.notifications.append({"level": level, "title": str(title), "message": str(message)})

    def skip(self) -> None:
        """Skips the remaining stages for this frame (the snapshot is still sent)."""
        self.flow = "skip"
