"""Kea's configuration dialect of JSON turned into plain JSON: comments, ``<?include ?>``, extra commas, numbers.

Kea accepts ``//``, ``#`` and ``/* */`` comments outside strings, splices in
files named by ``<?include "path" ?>`` (relative paths are tried beside the
including file, then from the working directory, as Kea itself resolves them
from its working directory), tolerates a comma before ``}`` or ``]`` with a
warning, and reads numbers more loosely than JSON (``.5``, ``5.``, ``007``; ISC's
own doc/examples/kea4/all-keys.json writes ``"t1-percent": .5``). ``json``
accepts none of these, so the text is rewritten first.
"""

from __future__ import annotations

import json
import os
import re

from ipaudit.safe_decode import DecodeError, check_depth
from ipaudit.sources.files import read_text
from ipaudit.sources.interface import SourceError

_INCLUDE = re.compile(r'<\?include\s+"([^"]+)"\s*\?>')
# kea src/bin/dhcp4/dhcp4_lexer.ll: a float is \-?(0|[1-9][0-9]*)?\.?[0-9]*([eE][-+]?[0-9]+)?, and
# \-?0[0-9]+ is an integer with leading zeros (a warning). Both are wider than JSON's numbers.
_NUMBER = re.compile(r"(-?)([0-9]*)(\.?)([0-9]*)((?:[eE][-+]?[0-9]+)?)")
_MAX_INCLUDE_DEPTH = 10


def load_kea_json(path: str, source: str) -> dict:
    """The parsed document of a Kea config file, or a SourceError naming the file and line."""
    text = _plain_json(read_text(path, source, "Kea config"), path, source, depth=0)
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as problem:
        raise SourceError(f"{source}: {path} is not valid Kea JSON ({problem.msg} at line {problem.lineno})") from None
    except (RecursionError, ValueError) as problem:
        raise SourceError(f"{source}: {path} is not valid Kea JSON ({_short(problem)})") from None
    try:
        check_depth(document, f"{source}: {path}")
    except DecodeError as problem:
        raise SourceError(problem.message) from None
    if not isinstance(document, dict):
        raise SourceError(f"{source}: {path} does not hold a JSON object")
    return document


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _short(problem: Exception) -> str:
    return "nested too deeply" if isinstance(problem, RecursionError) else " ".join(str(problem).split())[:80]


def _plain_json(text: str, path: str, source: str, depth: int) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
        elif char == "#" or text.startswith("//", i):
            # Keep the newline so JSON error line numbers still point at the file.
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise SourceError(f"{source}: {path} has an unterminated /* comment")
            out.append("\n" * text.count("\n", i, end))
            i = end + 2
        elif text.startswith("<?include", i):
            match = _INCLUDE.match(text, i)
            if not match:
                raise SourceError(f"{source}: {path} has a malformed <?include ?> directive")
            out.append(_included(match.group(1), path, source, depth))
            i = match.end()
        elif char in "}]":
            _drop_trailing_comma(out)
            out.append(char)
            i += 1
        elif char in "-.0123456789":
            match = _NUMBER.match(text, i)
            if match is None or match.end() == i:
                out.append(char)
                i += 1
            else:
                out.append(_json_number(match))
                i = match.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _json_number(match: re.Match) -> str:
    """A number as Kea's lexer reads it, in JSON's spelling: ``.5`` is ``0.5``, ``5.`` is ``5.0``, ``007`` is ``7``."""
    sign, whole, dot, fraction, exponent = match.groups()
    if not whole and not fraction:
        return match.group(0)  # a lone "-" or "." stays, for json to refuse with a line number
    whole = whole.lstrip("0") or "0"
    return sign + whole + ("." + (fraction or "0") if dot else "") + exponent


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return len(text)


def _drop_trailing_comma(out: list[str]) -> None:
    for index in range(len(out) - 1, -1, -1):
        piece = out[index]
        if piece.strip() == "":
            continue
        stripped = piece.rstrip()
        if stripped.endswith(","):
            out[index] = stripped[:-1] + piece[len(stripped):]
        return


def _included(name: str, including: str, source: str, depth: int) -> str:
    if depth >= _MAX_INCLUDE_DEPTH:
        raise SourceError(f"{source}: includes nested deeper than {_MAX_INCLUDE_DEPTH} at {including}")
    candidates = [name] if os.path.isabs(name) else [os.path.join(os.path.dirname(including), name), name]
    for candidate in candidates:
        if os.path.exists(candidate):
            return _plain_json(read_text(candidate, source, "Kea include"), candidate, source, depth + 1)
    raise SourceError(f"{source}: {including} includes {name}, which does not exist")
