import framebus as fb
from dataclasses import dataclass


@dataclass
class Params:
    threshold: int = fb.param(128, min=0, max=255, description="bright level")


class Brightness(fb.Stage):
    """Share of pixels at or above the threshold."""

    id = "py_brightness"
    Params = Params

    def process(self, frame, ctx):  # frame: read-only numpy array, zero-copy
        ctx.signal("bright", float((frame >= self.params.threshold).mean()))
