"""Params schema and validation, without a worker: the shape the web UI renders controls
from (the Rust stages' schemars shape) and the errors set_params answers."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Dict, List, Literal, Optional

import pytest

import framebus as fb
from framebus.params import ParamError, merge_params, params_schema, params_to_json


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class P:
    """Params of a test stage."""

    threshold: int = fb.param(128, min=0, max=255, description="bright level")
    alpha: float = fb.param(0.5, min=0.0, max=1.0, description="smoothing", unit="s")
    enabled: bool = fb.param(True, description="on or off")
    name: str = fb.param("knee", description="a name")
    mode: Literal["fast", "slow"] = fb.param("fast", description="speed")
    color: Color = fb.param(Color.RED, description="a colour")
    limit: Optional[float] = fb.param(None, description="optional limit")
    points: List[int] = fb.param([1, 2], description="a list")
    extra: Dict[str, int] = fb.param({}, description="a map")
    plain: int = 3


def test_schema_has_the_schemars_shape():
    s = params_schema(P)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["type"] == "object" and s["additionalProperties"] is False
    assert s["title"] == "P" and s["description"] == "Params of a test stage."
    assert "required" not in s
    props = s["properties"]
    assert props["threshold"] == {"type": "integer", "format": "int64", "default": 128,
                                  "description": "bright level", "minimum": 0, "maximum": 255}
    assert props["alpha"] == {"type": "number", "format": "double", "default": 0.5,
                              "description": "smoothing", "minimum": 0.0, "maximum": 1.0, "x-unit": "s"}
    assert props["enabled"] == {"type": "boolean", "default": True, "description": "on or off"}
    assert props["name"] == {"type": "string", "default": "knee", "description": "a name"}
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"], "default": "fast",
                             "description": "speed"}
    assert props["color"] == {"type": "string", "enum": ["red", "green"], "default": "red",
                              "description": "a colour"}
    assert props["limit"] == {"type": ["number", "null"], "format": "double", "default": None,
                              "description": "optional limit"}
    assert props["points"]["type"] == "array" and props["points"]["items"]["type"] == "integer"
    assert props["points"]["default"] == [1, 2]
    assert props["extra"]["type"] == "object"
    assert props["plain"] == {"type": "integer", "format": "int64", "default": 3}


def test_dataclass_without_docstring_has_no_made_up_description():
    @dataclass
    class Q:
        x: int = 1

    assert "description" not in params_schema(Q)


def test_defaults_and_merge():
    p = merge_params(P, None, {})
    assert params_to_json(p)["threshold"] == 128 and params_to_json(p)["color"] == "red"
    q = merge_params(P, p, {"threshold": 200, "alpha": 1, "color": "green", "limit": 2.5})
    assert (q.threshold, q.alpha, q.color, q.limit) == (200, 1.0, Color.GREEN, 2.5)
    assert isinstance(q.alpha, float)
    assert q.name == "knee"  # untouched fields keep their values
    assert p.threshold == 128  # the old instance is not changed
    # A list default is not shared between instances.
    p.points.append(3)
    assert merge_params(P, None, {}).points == [1, 2]


@pytest.mark.parametrize("changes, field, text", [
    ({"threshold": 300}, "threshold", "`threshold`: 300 is above the maximum 255"),
    ({"threshold": -1}, "threshold", "`threshold`: -1 is below the minimum 0"),
    ({"threshold": "x"}, "threshold", "expected an integer"),
    ({"threshold": 1.5}, "threshold", "expected an integer"),
    ({"threshold": True}, "threshold", "expected an integer"),
    ({"alpha": 2.5}, "alpha", "`alpha`: 2.5 is above the maximum 1"),
    ({"alpha": "0.5"}, "alpha", "expected a number"),
    ({"enabled": 1}, "enabled", "expected a boolean"),
    ({"name": 5}, "name", "expected a string"),
    ({"mode": "medium"}, "mode", '`mode`: "medium" is not one of ["fast", "slow"]'),
    ({"color": "blue"}, "color", "is not one of"),
    ({"points": [1, "2"]}, "points[1]", "expected an integer"),
    ({"points": 3}, "points", "expected an array"),
    ({"nope": 1}, "nope", "unknown param `nope` (known: threshold, alpha,"),
])
def test_bad_params_name_the_field(changes, field, text):
    p = merge_params(P, None, {})
    with pytest.raises(ParamError) as e:
        merge_params(P, p, changes)
    assert e.value.field == field
    assert text in str(e.value)


def test_params_must_be_an_object():
    with pytest.raises(ParamError, match="params must be an object"):
        merge_params(P, None, [1])


def test_post_init_checks_become_param_errors():
    @dataclass
    class R:
        lo: int = 1
        hi: int = 2

        def __post_init__(self):
            if self.lo > self.hi:
                raise ValueError("lo must not be above hi")

    with pytest.raises(ParamError, match="ValueError: lo must not be above hi"):
        merge_params(R, None, {"lo": 5})


def test_stage_class_collects_commands_and_info():
    @dataclass
    class Args:
        corners: int = fb.param(4, min=3, max=8, description="corners to find")

    class S(fb.Stage):
        """Finds things."""

        id = "s"
        Params = P

        @fb.command("calibrate", description="Finds the corners", args_schema=Args,
                    locked_while_recording=True)
        def cal(self, args):
            return args

        @fb.command()
        def hello(self, args):
            """Says hello."""
            return "hi"

        def process(self, frame, ctx):
            pass

    info = S.info()
    assert info["id"] == "s" and info["description"] == "Finds things." and info["namespace"] is None
    cmds = {c["name"]: c for c in info["commands"]}
    assert cmds["calibrate"]["locked_while_recording"] is True
    assert cmds["calibrate"]["args_schema"]["properties"]["corners"]["maximum"] == 8
    assert cmds["hello"]["description"] == "Says hello."
    assert cmds["hello"]["args_schema"] == {"type": "object"}
    s = S()
    assert s.params.threshold == 128  # usable without a worker, e.g. in unit tests


def test_context_publishes_and_validates():
    ctx = fb.Context(points=[fb.Point("hip", 1.0, 2.0, 0.9)])
    ctx.signal("a", 1)
    ctx.point("knee", 3, 4)
    ctx.widget("w", "W", 2.0, unit="deg")
    ctx.output({"x": 1})
    assert ctx.find_point("hip") == fb.Point("hip", 1.0, 2.0, 0.9)
    assert ctx.find_point("knee").score == 1.0
    assert ctx.signals == [{"name": "a", "value": 1.0}]
    assert ctx.published == [{"name": "knee", "x": 3.0, "y": 4.0, "score": 1.0}]
    assert ctx.widgets[0] == {"id": "w", "label": "W", "value": 2.0, "unit": "deg", "min": None, "max": None}
    assert ctx.result == {"x": 1} and ctx.flow == "continue"
    ctx.skip()
    assert ctx.flow == "skip"
    with pytest.raises(ValueError, match="not one of"):
        ctx.notify("fatal", "t", "m")
