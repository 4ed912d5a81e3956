"""The ``Stage`` base class a Python stage derives from, the ``@command`` decorator for its
custom commands, and the errors a command raises to answer ``bad_args`` or ``failed``.

A stage is a class with an ``id`` (the plugin id configs name), a ``Params`` dataclass and a
``process(self, frame, ctx)`` method; everything else is optional::

    class Brightness(fb.Stage):
        id = "py_brightness"
        Params = Params

        def process(self, frame, ctx):
            ctx.signal("bright", float((frame >= self.params.threshold).mean()))

Hooks the worker calls when a stage defines them: ``start()`` once after ``self.params``,
``self.instance_id`` and ``self.source`` are set and before the first frame; ``stop()`` on
shutdown; ``reset()`` on the ``reset`` command; ``set_params(params)`` when params change
(the default keeps the new instance in ``self.params``).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Dict, List, Optional

from .params import merge_params, params_schema, params_to_json

__all__ = ["Stage", "command", "CommandSpec", "CommandError", "BadArgs"]


class CommandError(Exception):
    """Raised by a command handler to answer ``{"type":"error","kind":kind,...}``.

    ``kind`` is ``bad_args`` or ``failed`` (any other exception answers ``failed``).
    """

    kind = "failed"

    def __init__(self, message: str, kind: Optional[str] = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class BadArgs(CommandError):
    """A command's args are wrong: answers ``bad_args`` with the message."""

    kind = "bad_args"


@dataclasses.dataclass(frozen=True)
class CommandSpec:
    """A custom command: its name, what it does, the JSON Schema of its args."""

    name: str
    description: str
    args_schema: Dict[str, Any]
    locked_while_recording: bool
    method: str
    #: The args dataclass when ``args_schema`` was one (the method then gets an instance).
    args_type: Optional[type] = None

    def to_json(self) -> Dict[str, Any]:
        """The command as the worker protocol's ``description.info.commands`` lists it."""
        return {
            "name": self.name,
            "description": self.description,
            "args_schema": self.args_schema,
            "locked_while_recording": self.locked_while_recording,
        }


def command(
    name: Optional[str] = None,
    *,
    description: str = "",
    args_schema: Optional[Dict[str, Any]] = None,
    locked_while_recording: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Marks a stage method as the custom command ``name`` (default: the method's name).

    The method returns anything JSON-able, which is the command's reply. ``args_schema`` may
    be a dataclass (its schema is generated like the params'; the args are validated like
    params and the method gets an instance of it) or a JSON Schema dict (the args are checked
    against it and the method gets the dict); default: any object, passed as a dict. Args
    that fail validation answer ``bad_args`` naming the arg, and the method is not called.
    """

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        args_type = None
        if isinstance(args_schema, type) and dataclasses.is_dataclass(args_schema):
            schema = params_schema(args_schema)
            args_type = args_schema
        elif args_schema is None:
            schema = {"type": "object"}
        else:
            schema = dict(args_schema)
        fn.__framebus_command__ = CommandSpec(  # type: ignore[attr-defined]
            name=name or fn.__name__,
            description=description or inspect.cleandoc(fn.__doc__ or "").split("\n")[0],
            args_schema=schema,
            locked_while_recording=locked_while_recording,
            method=fn.__name__,
            args_type=args_type,
        )
        return fn

    return mark


@dataclasses.dataclass
class _NoParams:
    pass


class Stage:
    """Base class of a Python stage. Subclasses set ``id`` and ``Params`` and define
    ``process(self, frame, ctx)``."""

    #: Plugin id configs name (``plugin = "py_brightness"``).
    id: str = ""
    #: Semantic version shown by ``framebus plugins``.
    version: str = "0.1.0"
    #: One line on what the stage does (default: the class docstring's first line).
    description: str = ""
    #: Results namespace; None means the stage instance id.
    namespace: Optional[str] = None
    #: The params dataclass.
    Params: type = _NoParams

    #: Custom commands by name (filled per subclass from ``@command`` methods).
    commands: Dict[str, CommandSpec] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: Dict[str, CommandSpec] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                spec = getattr(attr, "__framebus_command__", None)
                if isinstance(spec, CommandSpec):
                    found[spec.name] = spec
        cls.commands = found

    def __init__(self) -> None:
        #: The params in force, an instance of ``Params``.
        self.params = merge_params(type(self).Params, None, {})
        #: This instance's id in the config (set by the worker before ``start``).
        self.instance_id = self.id
        #: The source this stage's pipeline reads (set by the worker before ``start``).
        self.source = ""

    def process(self, frame: Any, ctx: Any) -> None:
        """Processes one frame (a read-only numpy array); publishes through ``ctx``."""
        raise NotImplementedError(f"{type(self).__name__}.process is not defined")

    def set_params(self, params: Any) -> None:
        """Applies validated params between frames (default: keeps them in ``self.params``)."""
        self.params = params

    def start(self) -> None:
        """Called once before the first frame."""

    def stop(self) -> None:
        """Called once on shutdown."""

    def reset(self) -> None:
        """Clears accumulated state (the ``reset`` command)."""

    @classmethod
    def info(cls) -> Dict[str, Any]:
        """The stage's description as the worker protocol's ``description.info``."""
        doc = inspect.cleandoc(cls.__doc__ or "").split("\n")[0] if cls.__doc__ else ""
        return {
            "id": cls.id,
            "version": cls.version,
            "description": cls.description or doc,
            "namespace": cls.namespace,
            "commands": [c.to_json() for c in cls.commands.values()],
        }

    @classmethod
    def schema(cls) -> Dict[str, Any]:
        """The JSON Schema of the stage's params."""
        return params_schema(cls.Params)

    @classmethod
    def defaults(cls) -> Dict[str, Any]:
        """The default params as JSON."""
        return params_to_json(merge_params(cls.Params, None, {}))


def find_stage(module: Any, stage_id: str) -> type:
    """The ``Stage`` subclass with ``id == stage_id`` defined in or imported into ``module``.

    Raises LookupError naming the ids the module has.
    """
    found: List[type] = []
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Stage) and value is not Stage:
            found.append(value)
    for cls in found:
        if cls.id == stage_id:
            return cls
    ids = ", ".join(sorted({c.id for c in found if c.id})) or "none"
    raise LookupError(f"module {module.__name__} has no stage `{stage_id}` (stages: {ids})")
