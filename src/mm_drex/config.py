"""Typed settings from the parameters: one reader, one error format.

Every settings group (``params:backtest``, ``params:router_sft.training``, ...)
is a frozen dataclass that derives from :class:`Settings` and names its group.
``SomeSettings.from_params(params)`` builds it from the mapping Kedro passes to
a node (or a plain dict in a notebook):

- a key the class does not declare is refused;
- each value is converted by the field's annotation: ``int`` takes integers,
  ``float`` integers or floats, ``bool`` true/false, ``str`` strings, tuples
  and lists take YAML lists, ``dict[str, X]`` mappings, ``Literal[...]`` one of
  its values, ``X | None`` null (or an empty string) too, ``pd.Timestamp`` anything
  :class:`pandas.Timestamp` parses, and a nested :class:`Settings` field its
  own mapping (null: its defaults);
- ranges and choices declared with :func:`setting` are checked, also when the
  class is built directly in code (``__post_init__``).

Every refusal is a :class:`SettingsError` whose message reads
``parameters <group>.<key> = <value>: <what is wrong>`` (unknown keys:
``parameters <group>: unknown keys [...] (<key> = <value>, ...); the known
keys are ...``), so it names the group, the key and the value, and the key is
the setting to change.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar, Union

import pandas as pd

__all__ = [
    "Settings",
    "SettingsError",
    "convert_value",
    "read_settings",
    "setting",
    "settings_error",
]

T = TypeVar("T")
_RANGE_KEYS = ("ge", "gt", "le", "lt", "choices")


class SettingsError(ValueError):
    """A parameter the settings reader refuses; the message names group, key, value."""


def settings_error(path: str, value: Any, problem: str) -> SettingsError:
    """The one error format: ``parameters <path> = <value>: <problem>``."""
    return SettingsError(f"parameters {path} = {value!r}: {problem}")


def setting(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: Sequence[Any] | None = None,
) -> Any:
    """A dataclass field with a checked range (``ge``/``gt``/``le``/``lt``, for
    tuples every element) or a set of ``choices``."""
    bounds = {"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices}
    metadata = {key: value for key, value in bounds.items() if value is not None}
    return dataclasses.field(
        default=default, default_factory=default_factory, metadata=metadata
    )


def _check_range(field: dataclasses.Field, value: Any, path: str) -> None:
    meta = field.metadata
    if value is None or not any(key in meta for key in _RANGE_KEYS):
        return
    values = value if isinstance(value, tuple | list) else (value,)
    for item in values:
        if "choices" in meta and item not in meta["choices"]:
            raise settings_error(path, value, f"must be one of {list(meta['choices'])}")
        for key, holds, word in (
            ("ge", lambda v, b: v >= b, ">="),
            ("gt", lambda v, b: v > b, ">"),
            ("le", lambda v, b: v <= b, "<="),
            ("lt", lambda v, b: v < b, "<"),
        ):
            if key in meta and not holds(item, meta[key]):
                raise settings_error(path, value, f"must be {word} {meta[key]}")


def check_ranges(instance: Any, group: str) -> None:
    """Check the ranges and choices declared with :func:`setting` on ``instance``."""
    for field in dataclasses.fields(instance):
        _check_range(field, getattr(instance, field.name), f"{group}.{field.name}")


class Settings:
    """Base of the typed settings groups.

    A subclass is a dataclass with ``group: ClassVar[str]`` (its place in the
    parameters, e.g. ``"backtest.limits"``); a subclass with its own
    ``__post_init__`` calls ``super().__post_init__()``.
    """

    group: ClassVar[str] = ""

    @classmethod
    def from_params(
        cls: type[T], params: Mapping[str, Any] | None, group: str | None = None
    ) -> T:
        """Read this group from the raw parameters (see the module docstring)."""
        return read_settings(cls, params, group or cls.group)  # type: ignore[attr-defined]

    @classmethod
    def of(cls: type[T], value: Any) -> T:
        """``value`` itself when it is already these settings, else read from it."""
        return value if isinstance(value, cls) else cls.from_params(value)  # type: ignore[attr-defined]

    def with_overrides(self: T, overrides: Mapping[str, Any], group: str) -> T:
        """These settings with some keys replaced, read and checked as
        parameters of ``group`` (e.g. a backend's ``training`` overrides)."""
        current = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return type(self).from_params({**current, **overrides}, group)  # type: ignore[attr-defined]

    def __post_init__(self) -> None:
        check_ranges(self, type(self).group)


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    if origin is Literal:
        return f"one of {list(typing.get_args(annotation))}"
    if origin in (tuple, list, Sequence):
        return "a list"
    if origin in (dict, Mapping):
        return "a mapping"
    names = {
        int: "an integer",
        float: "a number",
        bool: "true or false",
        str: "a string",
        pd.Timestamp: "a date or timestamp",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def convert_value(value: Any, annotation: Any, path: str) -> Any:
    """``value`` as ``annotation``, or a :class:`SettingsError` naming ``path``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        # null, or an empty string (``--params "inference.as_of="``), unsets it
        if (value is None or value == "") and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return convert_value(value, option, path)
            except SettingsError:
                continue
        raise settings_error(path, value, f"must be {_describe(annotation)}")
    if origin is Literal:
        if value in args:
            return value
        raise settings_error(path, value, f"must be one of {list(args)}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is pd.Timestamp:
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            stamp = pd.NaT
        if stamp is not pd.NaT:
            return stamp
    elif origin is tuple or origin is list or origin is Sequence:
        if isinstance(value, list | tuple):
            if origin is tuple and args and args[-1] is not Ellipsis:
                if len(value) != len(args):
                    raise settings_error(path, value, f"must hold {len(args)} values")
                items = [
                    convert_value(v, a, f"{path}[{i}]")
                    for i, (v, a) in enumerate(zip(value, args, strict=True))
                ]
            else:
                item = args[0] if args else Any
                items = [
                    convert_value(v, item, f"{path}[{i}]") for i, v in enumerate(value)
                ]
            return tuple(items) if origin is tuple else items
    elif origin is dict or origin is Mapping or annotation is dict:
        if isinstance(value, Mapping):
            item = args[1] if len(args) == 2 else Any
            return {k: convert_value(v, item, f"{path}.{k}") for k, v in value.items()}
    elif isinstance(annotation, type) and issubclass(annotation, Settings):
        if isinstance(value, annotation):
            return value
        if value is None or isinstance(value, Mapping):
            return annotation.from_params(value, path)
    else:
        return value
    raise settings_error(path, value, f"must be {_describe(annotation)}")


def read_settings(cls: type[T], params: Mapping[str, Any] | None, group: str) -> T:
    """Build the settings dataclass ``cls`` from the raw mapping of ``group``."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise settings_error(group, params, "must be a mapping of keys to values")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(params) - set(known), key=str)
    if unknown:
        values = ", ".join(f"{key} = {params[key]!r}" for key in unknown)
        raise SettingsError(
            f"parameters {group}: unknown keys {unknown} ({values}); the known "
            f"keys are {', '.join(known)}"
        )
    values = {}
    for name, raw in params.items():
        path = f"{group}.{name}"
        values[name] = convert_value(raw, hints[name], path)
        _check_range(known[name], values[name], path)
    for name, field in known.items():
        required = (
            field.default is dataclasses.MISSING
            and field.default_factory is dataclasses.MISSING
        )
        if required and name not in values:
            raise SettingsError(
                f"parameters {group}.{name}: missing; give a value ({_describe(hints[name])})"
            )
    return cls(**values)
