"""Nested registries of named values, addressed by dotted identifiers.

A registry maps keys to values; a value may itself be a registry, so identifiers such as
``network.layers.fc1.weights`` or ``optimiser.learning_rate`` walk down the levels. Initialisers, hooks,
the GUI and the operator address values through a registry instead of holding references to them.

Patterns (for :meth:`Registry.resolve`, :meth:`Registry.get_matching`, :meth:`Registry.set_matching`,
listeners, and :meth:`Registry.get`/:meth:`Registry.set` when given one) are dotted like identifiers.
Each level is a glob where ``*`` and ``?`` match within that level only (never across a dot), optionally
followed by a tag filter in angle brackets that the entry at that level must carry:
``network.layers.*<trainable>.weights`` matches the ``weights`` of every layer tagged ``trainable``;
``<a,b>`` asks for both tags.

Change listeners are called as ``listener(identifier, old, new)`` after each change, on the thread that
made it, outside the registry's lock (so a listener may read or set values). A change made through a
nested registry is also reported to the listeners of its parents, with the full identifier.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import threading
from collections.abc import Callable, Iterable

__all__ = ["Registry", "RegistryError"]

_MISSING = object()
_LEVEL = re.compile(r"^(?P<glob>[^<>]*)(?:<(?P<tags>[^<>]*)>)?$")


class RegistryError(KeyError):
    """An identifier or pattern that does not name anything, or is malformed."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


_WILDCARDS = frozenset("*?[]<>")


def _is_pattern(identifier) -> bool:
    return isinstance(identifier, str) and any(ch in _WILDCARDS for ch in identifier)


def _split(identifier: str) -> list[str]:
    if not isinstance(identifier, str) or not identifier or any(not p for p in identifier.split(".")):
        raise RegistryError(
            f"Invalid registry identifier {identifier!r}: expected dotted names such as 'a.b.c'"
        )
    return identifier.split(".")


def _parse_pattern(pattern: str) -> list[tuple[str, frozenset[str]]]:
    levels = []
    for part in _split(pattern):
        m = _LEVEL.match(part)
        if m is None or not m.group("glob"):
            raise RegistryError(
                f"Invalid registry pattern {pattern!r}: level {part!r} is not 'glob' or 'glob<tags>'"
            )
        tags = frozenset(t.strip() for t in (m.group("tags") or "").split(",") if t.strip())
        levels.append((m.group("glob"), tags))
    return levels


class Registry:
    """A thread-safe tree of named values with tags and change listeners.

    Parameters
    ----------
    values : dict, optional
        Initial entries; keys may be dotted identifiers.

    Examples
    --------
    >>> r = Registry()
    >>> r.set("optimiser.learning_rate", 0.01)
    >>> r.get("optimiser.learning_rate")
    0.01
    >>> r.resolve("optimiser.*")
    ['optimiser.learning_rate']
    """

    def __init__(self, values: dict | None = None):
        self._entries: dict[str, object] = {}
        self._tags: dict[str, set[str]] = {}
        self._parent: Registry | None = None
        self._key_in_parent = ""
        # One lock per tree: children share their root's lock so a change and its notification path agree.
        self._lock = threading.RLock()
        self._listeners: dict[int, tuple[Callable, list | None]] = {}
        self._tokens = itertools.count(1)
        for key, value in (values or {}).items():
            self.set(key, value)

    # ------------------------------------------------------------------ structure
    def _child(self, key: str, create: bool) -> Registry | None:
        node = self._entries.get(key)
        if isinstance(node, Registry):
            return node
        if not create:
            return None
        if node is not None:
            raise RegistryError(f"Cannot nest under {self._full(key)!r}: it holds a value, not a registry")
        child = Registry()
        self._adopt(key, child)
        return child

    def _adopt(self, key: str, child: Registry) -> None:
        child._parent = self
        child._key_in_parent = key
        child._set_lock(self._lock)
        self._entries[key] = child

    def _set_lock(self, lock) -> None:
        self._lock = lock
        for value in self._entries.values():
            if isinstance(value, Registry):
                value._set_lock(lock)

    def _full(self, key: str) -> str:
        prefix = self.path
        return f"{prefix}.{key}" if prefix else key

    @property
    def path(self) -> str:
        """This registry's identifier within its root ('' for a root)."""
        parts = []
        node = self
        while node._parent is not None:
            parts.append(node._key_in_parent)
            node = node._parent
        return ".".join(reversed(parts))

    def _walk_to_parent(self, identifier: str, create: bool) -> tuple[Registry | None, str]:
        parts = _split(identifier)
        node: Registry | None = self
        for part in parts[:-1]:
            node = node._child(part, create)
            if node is None:
                return None, parts[-1]
        return node, parts[-1]

    # ------------------------------------------------------------------ get / set
    def get(self, identifier: str, default=_MISSING):
        """The value at ``identifier`` (a nested registry for an inner level).

        A pattern (with ``*``, ``?`` or a ``<tag>`` filter) returns ``{identifier: value}`` for every match,
        as :meth:`get_matching`.

        Raises
        ------
        RegistryError
            When nothing is registered there and no ``default`` is given.
        """
        if _is_pattern(identifier):
            return self.get_matching(identifier)
        with self._lock:
            parent, key = self._walk_to_parent(identifier, create=False)
            if parent is not None and key in parent._entries:
                return parent._entries[key]
        if default is _MISSING:
            raise RegistryError(f"Nothing registered at {self._full(identifier)!r}")
        return default

    def __contains__(self, identifier: str) -> bool:
        if _is_pattern(identifier):
            return bool(self.resolve(identifier))
        return self.get(identifier, _MISSING_SENTINEL) is not _MISSING_SENTINEL

    def __getitem__(self, identifier: str):
        return self.get(identifier)

    def __setitem__(self, identifier: str, value) -> None:
        self.set(identifier, value)

    def set(self, identifier: str, value, tags: Iterable[str] | None = None) -> list[str]:
        """Store ``value`` at ``identifier``, creating inner levels; ``tags`` are added to that entry.

        A :class:`Registry` value is attached as a nested level. Listeners hear about the change. A pattern
        sets every existing entry it matches instead (:meth:`set_matching`). Returns the identifiers set.
        """
        if _is_pattern(identifier):
            return self.set_matching(identifier, value)
        with self._lock:
            parent, key = self._walk_to_parent(identifier, create=True)
            old = parent._entries.get(key)
            if isinstance(value, Registry):
                parent._adopt(key, value)
            else:
                parent._entries[key] = value
            if tags:
                parent._tags.setdefault(key, set()).update(tags)
        if old is not value:
            parent._notify(key, old, value)
        return [identifier]

    def tag(self, identifier: str, *tags: str) -> None:
        """Add tags to the entry at ``identifier`` (it must exist)."""
        with self._lock:
            parent, key = self._walk_to_parent(identifier, create=False)
            if parent is None or key not in parent._entries:
                raise RegistryError(f"Cannot tag {self._full(identifier)!r}: nothing registered there")
            parent._tags.setdefault(key, set()).update(tags)

    def tags(self, identifier: str) -> frozenset[str]:
        """The tags of the entry at ``identifier``."""
        with self._lock:
            parent, key = self._walk_to_parent(identifier, create=False)
            if parent is None or key not in parent._entries:
                raise RegistryError(f"Nothing registered at {self._full(identifier)!r}")
            return frozenset(parent._tags.get(key, ()))

    def remove(self, identifier: str) -> None:
        """Delete the entry at ``identifier`` (and everything under it)."""
        with self._lock:
            parent, key = self._walk_to_parent(identifier, create=False)
            if parent is None or key not in parent._entries:
                raise RegistryError(f"Cannot remove {self._full(identifier)!r}: nothing registered there")
            old = parent._entries.pop(key)
            parent._tags.pop(key, None)
            if isinstance(old, Registry):
                old._parent = None
        parent._notify(key, old, None)

    def keys(self) -> list[str]:
        """The keys of this level, in insertion order."""
        with self._lock:
            return list(self._entries)

    def items(self, leaves_only: bool = True) -> list[tuple[str, object]]:
        """All (identifier, value) pairs below this registry, depth first in insertion order."""
        out = []
        with self._lock:
            for key, value in self._entries.items():
                if isinstance(value, Registry):
                    if not leaves_only:
                        out.append((key, value))
                    out.extend((f"{key}.{k}", v) for k, v in value.items(leaves_only))
                else:
                    out.append((key, value))
        return out

    # ------------------------------------------------------------------ patterns
    def resolve(self, pattern: str) -> list[str]:
        """The identifiers that ``pattern`` matches, in insertion order (see the module docstring)."""
        levels = _parse_pattern(pattern)
        with self._lock:
            return [ident for ident, _ in self._match(levels, "")]

    def get_matching(self, pattern: str) -> dict[str, object]:
        """``{identifier: value}`` for every entry that ``pattern`` matches."""
        levels = _parse_pattern(pattern)
        with self._lock:
            return dict(self._match(levels, ""))

    def set_matching(self, pattern: str, value) -> list[str]:
        """Set every existing entry that ``pattern`` matches to ``value``; returns the identifiers set."""
        matched = self.resolve(pattern)
        for ident in matched:
            self.set(ident, value)  # resolved identifiers hold no wildcards: no recursion
        return matched

    def _match(self, levels, prefix):
        glob, tags = levels[0]
        for key, value in self._entries.items():
            if not fnmatch.fnmatchcase(key, glob) or not tags <= self._tags.get(key, set()):
                continue
            ident = f"{prefix}.{key}" if prefix else key
            if len(levels) == 1:
                yield ident, value
            elif isinstance(value, Registry):
                yield from value._match(levels[1:], ident)

    @staticmethod
    def matches(pattern: str, identifier: str) -> bool:
        """Whether ``identifier`` fits ``pattern`` level by level (tag filters are ignored here)."""
        levels = _parse_pattern(pattern)
        parts = _split(identifier)
        return len(levels) == len(parts) and all(
            fnmatch.fnmatchcase(p, g) for p, (g, _) in zip(parts, levels)
        )

    # ------------------------------------------------------------------ listeners
    def add_listener(
        self, listener: Callable[[str, object, object], None], pattern: str | None = None
    ) -> int:
        """Call ``listener(identifier, old, new)`` after changes below this registry.

        ``pattern`` (relative to this registry) limits the identifiers reported. Returns a token for
        :meth:`remove_listener`.
        """
        levels = _parse_pattern(pattern) if pattern else None
        with self._lock:
            token = next(self._tokens)
            self._listeners[token] = (listener, levels)
        return token

    def remove_listener(self, token: int) -> None:
        """Stop calling the listener registered under ``token``."""
        with self._lock:
            self._listeners.pop(token, None)

    def _notify(self, key: str, old, new) -> None:
        calls = []
        with self._lock:
            node, ident = self, key
            while node is not None:
                for listener, levels in node._listeners.values():
                    if levels is None or _fits(levels, ident):
                        calls.append((listener, ident))
                if node._parent is not None:
                    ident = f"{node._key_in_parent}.{ident}"
                node = node._parent
        for listener, ident in calls:
            listener(ident, old, new)

    # ------------------------------------------------------------------ copies
    def copy(self) -> Registry:
        """A new root registry with the same structure, values and tags, and no listeners.

        Values are shared, not copied (numbers and strings are immutable; arrays and tensors stay the
        same objects): a worker's local copy sees the same parameters but keeps its own settings.
        """
        with self._lock:
            clone = Registry()
            for key, value in self._entries.items():
                if isinstance(value, Registry):
                    clone._adopt(key, value.copy())
                else:
                    clone._entries[key] = value
                if key in self._tags:
                    clone._tags[key] = set(self._tags[key])
            return clone

    def to_dict(self) -> dict:
        """Leaves as a flat ``{identifier: value}`` dict."""
        return dict(self.items())

    def __repr__(self) -> str:
        return f"Registry({self.path or '<root>'}, {len(self._entries)} entries)"


_MISSING_SENTINEL = object()


def _fits(levels, identifier: str) -> bool:
    parts = identifier.split(".")
    return len(parts) == len(levels) and all(fnmatch.fnmatchcase(p, g) for p, (g, _) in zip(parts, levels))
