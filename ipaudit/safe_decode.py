"""The one door for YAML and JSON from outside (files, stdin, kubectl, API bodies): bounded in size,
depth and alias expansion, so a 351-byte YAML bomb or a megabyte of ``[`` ends in one line, not 5 GB.

Why aliases are bounded rather than refused: hand-written manifests sometimes share a
block with ``&anchor``/``*alias`` (or ``<<: *defaults``), and refusing them would break
honest files. What makes a bomb is expansion, so each document may gain at most
``MAX_ALIAS_NODES`` nodes through aliases; a self-referencing alias is refused outright,
since every consumer would walk it forever. JSON has no aliases but does have
``NaN``/``Infinity``, which no address, lease time or count can honestly be.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, BinaryIO

from ipaudit.errors import IpauditError

MAX_DEPTH = 64  # a Kubernetes List of pools is about 8 levels deep
MAX_ALIAS_NODES = 10_000
MAX_TEXT_BYTES = 16 * 1024 * 1024  # 16 MiB: a /16 scan inventory is about 6 MiB
_READ_CHUNK = 1 << 16


class DecodeError(IpauditError):
    """Outside text that is not safe or not valid to decode; the message names where it came from.

    ``detail`` is the problem alone (``at line 3: found ...``), for callers that word ``where`` themselves.
    """

    def __init__(self, message: str, hint: str | None = None, detail: str | None = None):
        super().__init__(message, hint)
        self.detail = detail or message


# --- bytes to text -----------------------------------------------------------------------------------

def read_bounded(stream: BinaryIO, where: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """At most ``limit`` bytes of ``stream``; more is refused, so ``/dev/zero`` cannot fill memory."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise DecodeError(f"{where} is larger than {_size(limit)}",
                              hint="ipaudit refuses bigger input to bound its memory")


def read_file_bytes(path: str, where: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of ``path`` (``-`` is stdin), bounded; a directory or unreadable file is one line."""
    if path == "-":
        return read_bounded(sys.stdin.buffer, where, limit)
    try:
        # Non-regular files stay allowed (``--from <(kubectl get ...)`` is a FIFO): the bound covers them.
        with open(path, "rb") as handle:
            if os.path.isdir(path):
                raise DecodeError(f"{where} is a directory")
            return read_bounded(handle, where, limit)
    except IsADirectoryError:
        raise DecodeError(f"{where} is a directory") from None
    except OSError as problem:
        raise DecodeError(f"cannot read {where}: {problem.strerror or problem}") from None


def text_of(raw: bytes, where: str) -> str:
    """UTF-8 text (a BOM is dropped); binary data or another encoding is refused by name."""
    if b"\x00" in raw:
        raise DecodeError(f"{where} is binary data, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise DecodeError(f"{where} is not UTF-8 text (bad byte at offset {problem.start})") from None


# --- JSON ----------------------------------------------------------------------------------------------

def _no_constant(name: str) -> Any:
    raise DecodeError(f"holds {name}, which is not a number")


def load_json(text: str | bytes, where: str) -> Any:
    """Strict JSON: no NaN/Infinity, at most ``MAX_DEPTH`` levels; errors name ``where`` and the line."""
    if isinstance(text, bytes):
        text = text_of(text, where)
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except DecodeError as problem:
        raise DecodeError(f"{where} {problem.message}", hint="JSON has no NaN or Infinity") from None
    except json.JSONDecodeError as problem:
        raise DecodeError(f"{where} is not JSON (line {problem.lineno}: {problem.msg})") from None
    except RecursionError:
        raise _too_deep(where) from None
    except ValueError as problem:  # e.g. an integer longer than Python's 4,300-digit limit
        raise DecodeError(f"{where} holds a value that cannot be read ({_first_words(problem)})") from None
    check_depth(document, where)
    return document


def _too_deep(where: str) -> DecodeError:
    return DecodeError(f"{where} is nested deeper than {MAX_DEPTH} levels")


def check_depth(document: Any, where: str) -> None:
    # Iterative, so checking cannot itself overflow the stack; later code may then recurse freely.
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(where)
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values() if isinstance(child, dict | list))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value if isinstance(child, dict | list))


# --- YAML ----------------------------------------------------------------------------------------------

def _bounded_loader():
    """A SafeLoader subclass whose composer counts depth and alias expansion as it builds each node."""
    import yaml
    from yaml.nodes import MappingNode, SequenceNode

    class BoundedLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self._weights: dict[int, int] = {}
            self._alias_nodes = 0
            self._depth = 0

        def compose_document(self):
            self._weights, self._alias_nodes = {}, 0
            return super().compose_document()

        def compose_node(self, parent, index):
            is_alias = self.check_event(yaml.AliasEvent)
            mark = self.peek_event().start_mark
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _YamlLimit(f"is nested deeper than {MAX_DEPTH} levels", mark)
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            if is_alias:
                weight = self._weights.get(id(node))
                if weight is None:
                    raise _YamlLimit("has an alias that refers to itself", mark)
                self._alias_nodes += weight
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise _YamlLimit(f"has aliases that expand beyond {MAX_ALIAS_NODES:,} nodes "
                                     "(a YAML alias bomb?)", mark)
            elif id(node) not in self._weights:
                self._weights[id(node)] = 1 + self._children_weight(node, mark)
            return node

        def _children_weight(self, node, mark) -> int:
            if isinstance(node, SequenceNode):
                children = node.value
            elif isinstance(node, MappingNode):
                children = [part for pair in node.value for part in pair]
            else:
                return 0
            total = 0
            for child in children:
                weight = self._weights.get(id(child))
                if weight is None:  # still being composed: the child is an alias of an ancestor
                    raise _YamlLimit("has an alias that refers to itself", mark)
                total += weight
            return total

    return BoundedLoader


class _YamlLimit(Exception):
    def __init__(self, problem: str, mark):
        super().__init__(problem)
        self.problem = problem
        self.mark = mark


_LOADER = None


def load_yaml_documents(text: str | bytes, where: str, *, quote_problem: bool = True) -> list[Any]:
    """Every document of multi-document YAML (JSON is YAML too), within the bounds above.

    ``quote_problem=False`` gives only the line of a syntax error, for files holding secrets:
    PyYAML's reason can quote the text it choked on.
    """
    global _LOADER
    import yaml

    if isinstance(text, bytes):
        text = text_of(text, where)
    if _LOADER is None:
        _LOADER = _bounded_loader()
    loader = _LOADER(text)
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents
    except _YamlLimit as problem:
        raise DecodeError(f"{where}{_at(problem.mark)} {problem.problem}",
                          detail=f"{_at(problem.mark).strip()} {problem.problem}".strip()) from None
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        reason = (getattr(problem, "problem", None) if quote_problem else None) or "invalid YAML"
        raise DecodeError(f"{where}{_at(mark)}: {reason}", detail=f"{_at(mark).strip()}: {reason}".lstrip(": ")) from None
    except RecursionError:
        raise _too_deep(where) from None
    except (ValueError, TypeError, OverflowError) as problem:  # a timestamp like 2024-13-45, a 5,000-digit int
        detail = f" ({_first_words(problem)})" if quote_problem else ""
        raise DecodeError(f"{where} holds a value YAML cannot convert{detail}") from None
    finally:
        loader.dispose()


def load_yaml(text: str | bytes, where: str, *, quote_problem: bool = True) -> Any:
    """Exactly one YAML document (an empty text is ``None``)."""
    documents = load_yaml_documents(text, where, quote_problem=quote_problem)
    if len(documents) > 1:
        raise DecodeError(f"{where} holds {len(documents)} YAML documents where one was expected")
    return documents[0] if documents else None


def _first_words(problem: Exception, limit: int = 80) -> str:
    text = " ".join(str(problem).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _at(mark) -> str:
    return f" at line {mark.line + 1}" if mark is not None else ""


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"
