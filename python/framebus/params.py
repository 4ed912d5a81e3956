"""Stage params: ``param()`` for dataclass fields, the JSON Schema of a params dataclass, and
the merge-validate step behind ``init`` and ``set_params``.

The schema has the shape the Rust stages' schemars schemas have (``type: object``,
``additionalProperties: false``, ``properties`` with ``type``, ``format``, ``default``,
``description``, ``minimum``/``maximum``, ``enum``), so the web UI renders the same controls
for a Python stage: a slider for a number with both bounds, a toggle for a bool, a select for
an enum, a text box for a string. Validation errors name the field the way the Rust side does
(`` `threshold`: 300 is above the maximum 255 ``).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import sys
import typing
from typing import Any, Dict, List, Optional

__all__ = ["param", "ParamError", "params_schema", "params_to_json", "merge_params", "check_args"]

_META = "framebus"
_MISSING = dataclasses.MISSING


def param(
    default: Any = _MISSING,
    *,
    min: Optional[float] = None,  # noqa: A002 - the issue's spelling
    max: Optional[float] = None,  # noqa: A002
    description: Optional[str] = None,
    unit: Optional[str] = None,
) -> Any:
    """A params dataclass field with its default, bounds and description for the schema.

    ``threshold: int = fb.param(128, min=0, max=255, description="bright level")``.
    A list or dict default is copied for every instance.
    """
    meta = {_META: {"min": min, "max": max, "description": description, "unit": unit}}
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: _copy(value), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


class ParamError(ValueError):
    """A params value that does not fit its dataclass; ``field`` names the offending field."""

    def __init__(self, field: Optional[str], message: str, *, prefix: bool = True) -> None:
        self.field = field
        self.message = message
        super().__init__(f"`{field}`: {message}" if field and prefix else message)


def _fmt(x: Any) -> str:
    """A number the way the Rust side prints it (``255``, ``0.5``)."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _type_schema(tp: Any) -> Dict[str, Any]:
    """The JSON Schema of one annotation."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer", "format": "int64"}
    if tp is float:
        return {"type": "number", "format": "double"}
    if tp is str:
        return {"type": "string"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        return {"type": _json_type(values[0]) if values else "string", "enum": values}
    if origin is typing.Literal:
        values = list(args)
        types = sorted({_json_type(v) for v in values})
        out: Dict[str, Any] = {"enum": values}
        out["type"] = types[0] if len(types) == 1 else types
        return out
    if origin is typing.Union or _is_union_type(tp):
        non_null = [a for a in args if a is not type(None)]
        if len(non_null) == 1 and len(non_null) < len(args):
            inner = _type_schema(non_null[0])
            t = inner.get("type")
            if isinstance(t, str) and "enum" not in inner:
                return {**inner, "type": [t, "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
        return {"anyOf": [_type_schema(a) for a in args]}
    if origin in (list, List, tuple) or tp in (list, tuple):
        item = args[0] if args else Any
        out = {"type": "array"}
        if item is not Any and item is not Ellipsis:
            out["items"] = _type_schema(item)
        return out
    if origin in (dict, Dict) or tp is dict:
        return {"type": "object"}
    return {}


def _is_union_type(tp: Any) -> bool:
    if sys.version_info >= (3, 10):
        import types

        return isinstance(tp, types.UnionType)
    return False


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if v is None:
        return "null"
    return "string"


def _hints(cls: type) -> Dict[str, Any]:
    """Field annotations resolved to types (string annotations of a class defined in a function
    may not resolve: those fields fall back to what the dataclass recorded)."""
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):
        return {f.name: f.type for f in dataclasses.fields(cls) if not isinstance(f.type, str)}


def _fields(cls: type):
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass: decorate it with @dataclass")
    return dataclasses.fields(cls)


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return _MISSING


def params_schema(cls: type) -> Dict[str, Any]:
    """The JSON Schema (draft 2020-12, schemars' shape) of the params dataclass ``cls``."""
    hints = _hints(cls)
    props: Dict[str, Any] = {}
    required: List[str] = []
    for f in _fields(cls):
        s = dict(_type_schema(hints.get(f.name, Any)))
        meta = f.metadata.get(_META, {})
        default = _default_of(f)
        if default is _MISSING:
            required.append(f.name)
        else:
            s["default"] = to_json(default)
        if meta.get("description"):
            s["description"] = meta["description"]
        if meta.get("min") is not None:
            s["minimum"] = meta["min"]
        if meta.get("max") is not None:
            s["maximum"] = meta["max"]
        if meta.get("unit"):
            s["x-unit"] = meta["unit"]
        props[f.name] = s
    schema: Dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": cls.__name__,
        "type": "object",
        "additionalProperties": False,
        "properties": props,
    }
    doc = _user_doc(cls)
    if doc:
        schema["description"] = doc
    if required:
        schema["required"] = required
    return schema


def _user_doc(cls: type) -> Optional[str]:
    """The class docstring, unless it is the one @dataclass makes up (``P(a: int = 1)``)."""
    doc = cls.__doc__
    if not doc or doc.startswith(cls.__name__ + "("):
        return None
    return " ".join(doc.split())


def to_json(value: Any) -> Any:
    """A params value as JSON data (enums by value, tuples as lists, dataclasses as dicts)."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def params_to_json(params: Any) -> Dict[str, Any]:
    """An instance of a params dataclass as a JSON object."""
    return to_json(params)


def _check(field: str, tp: Any, v: Any, meta: Dict[str, Any]) -> Any:
    """Checks ``v`` against annotation ``tp`` and the field's bounds; returns the value to keep."""
    value = _check_type(field, tp, v)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and value < lo:
            raise ParamError(field, f"{_fmt(v)} is below the minimum {_fmt(lo)}")
        if hi is not None and value > hi:
            raise ParamError(field, f"{_fmt(v)} is above the maximum {_fmt(hi)}")
    return value


def _describe(v: Any) -> str:
    import json

    try:
        return json.dumps(v)
    except (TypeError, ValueError):
        return repr(v)


def _check_type(field: str, tp: Any, v: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    bad = ParamError(field, f"invalid type: {_describe(v)}, expected {_expected(tp)}")
    if tp is Any:
        return v
    if tp is bool:
        if not isinstance(v, bool):
            raise bad
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad
        return v
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad
        if not math.isfinite(v):
            raise ParamError(field, f"{v} is not a finite number")
        return float(v)
    if tp is str:
        if not isinstance(v, str):
            raise bad
        return v
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for m in tp:
            if m.value == v and type(m.value) is type(v):
                return m
        raise ParamError(field, f"{_describe(v)} is not one of {_describe([m.value for m in tp])}")
    if origin is typing.Literal:
        for a in args:
            if a == v and type(a) is type(v):
                return a
        raise ParamError(field, f"{_describe(v)} is not one of {_describe(list(args))}")
    if origin is typing.Union or _is_union_type(tp):
        if v is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_type(field, a, v)
            except ParamError as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        raise bad
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(v, list):
            raise bad
        item = args[0] if args else Any
        if item is Ellipsis:
            item = Any
        return [_check_type(f"{field}[{i}]", item, x) for i, x in enumerate(v)]
    if origin is dict or tp is dict:
        if not isinstance(v, dict):
            raise bad
        return v
    return v


def _expected(tp: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if tp in names:
        return names[tp]
    origin = typing.get_origin(tp)
    if origin in (list, tuple) or tp in (list, tuple):
        return "an array"
    if origin is dict or tp is dict:
        return "an object"
    if origin is typing.Union or _is_union_type(tp):
        return " or ".join("null" if a is type(None) else _expected(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def merge_params(cls: type, current: Any, changes: Any) -> Any:
    """Merges ``changes`` (a JSON object, partial or full) over ``current`` (an instance of
    ``cls``, or None for the defaults), validating types, ranges and names.

    Returns a new instance of ``cls``; raises :class:`ParamError` naming the field.
    """
    if changes is None:
        changes = {}
    if not isinstance(changes, dict):
        raise ParamError(None, f"params must be an object, not {_describe(changes)}")
    hints = _hints(cls)
    fields = {f.name: f for f in _fields(cls) if f.init}
    for key in changes:
        if key not in fields:
            known = ", ".join(fields)
            raise ParamError(key, f"unknown param `{key}` (known: {known})", prefix=False)
    values: Dict[str, Any] = {}
    for name, f in fields.items():
        if name in changes:
            values[name] = _check(name, hints.get(name, Any), changes[name], f.metadata.get(_META, {}))
        elif current is not None:
            values[name] = getattr(current, name)
        elif _default_of(f) is _MISSING:
            raise ParamError(name, "missing param with no default")
    try:
        return cls(**values)
    except ParamError:
        raise
    except Exception as e:  # a __post_init__ check of the user's dataclass
        raise ParamError(None, f"{type(e).__name__}: {e}") from e


_JSON_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def check_args(schema: Dict[str, Any], args: Any) -> None:
    """Checks a command's ``args`` against the JSON Schema it declared (the keywords a params
    schema uses: ``type``, ``properties``, ``required``, ``additionalProperties: false``,
    ``enum``, ``minimum``/``maximum``, ``items``); raises :class:`ParamError` naming the arg.
    """
    if not isinstance(args, dict):
        raise ParamError(None, f"args must be an object, not {_describe(args)}")
    props = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in args:
            raise ParamError(name, "missing arg")
    if schema.get("additionalProperties") is False:
        for key in args:
            if key not in props:
                known = ", ".join(props) or "none"
                raise ParamError(key, f"unknown arg `{key}` (known: {known})", prefix=False)
    for key, value in args.items():
        if isinstance(props.get(key), dict):
            _check_value(key, props[key], value)


def _check_value(field: str, schema: Dict[str, Any], v: Any) -> None:
    want = schema.get("type")
    if want is not None:
        types = [want] if isinstance(want, str) else list(want)
        if not any(_JSON_TYPES.get(t, lambda _: True)(v) for t in types):
            raise ParamError(field, f"invalid type: {_describe(v)}, expected {' or '.join(types)}")
    if "enum" in schema and not any(v == e and type(v) is type(e) for e in schema["enum"]):
        raise ParamError(field, f"{_describe(v)} is not one of {_describe(schema['enum'])}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None and v < lo:
            raise ParamError(field, f"{_fmt(v)} is below the minimum {_fmt(lo)}")
        if hi is not None and v > hi:
            raise ParamError(field, f"{_fmt(v)} is above the maximum {_fmt(hi)}")
    if isinstance(v, list) and isinstance(schema.get("items"), dict):
        for i, x in enumerate(v):
            _check_value(f"{field}[{i}]", schema["items"], x)
    if isinstance(v, dict) and isinstance(schema.get("properties"), dict):
        for key, x in v.items():
            sub = schema["properties"].get(key)
            if isinstance(sub, dict):
                _check_value(f"{field}.{key}", sub, x)
        for name in schema.get("required") or []:
            if name not in v:
                raise ParamError(f"{field}.{name}", "missing arg")
