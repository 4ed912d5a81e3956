"""Stages the overhead benchmark runs: the README's brightness computation and a no-op."""

from dataclasses import dataclass

import framebus as fb


@dataclass
class Params:
    threshold: int = fb.param(128, min=0, max=255, description="bright level")


def bright_share(frame, threshold):
    """The numpy work both sides of the comparison run."""
    return float((frame >= threshold).mean())


class Brightness(fb.Stage):
    id = "bench_brightness"
    Params = Params

    def process(self, frame, ctx):
        ctx.signal("bright", bright_share(frame, self.params.threshold))


class Noop(fb.Stage):
    id = "bench_noop"

    def process(self, frame, ctx):
        pass
