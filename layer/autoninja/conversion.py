"""Turn an agent model's raw text into structured content: JSON, YAML (CloudFormation too) or code.

Models wrap their output in prose and markdown fences. These functions find the content, parse it,
and raise :class:`ConversionError` with a message an agent can act on when there is none.

Example::

    extract_json('Here you go:\\n```json\\n{"a": 1}\\n```')          # {"a": 1}
    extract_structured("AWSTemplateFormatVersion: '2010-09-09'")     # {"AWSTemplateFormatVersion": ...}
    extract_code("```python\\ndef handler(e, c): ...\\n```")         # "def handler(e, c): ..."
"""

from __future__ import annotations

import json
import re
from typing import Any

from autoninja.errors import ConversionError, InvalidInputError

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)```", re.DOTALL)
_MAX_SNIPPET = 120


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every markdown fenced block in ``text`` as ``(language, content)``, in order."""
    return [(lang.lower(), body.strip("\n")) for lang, body in _FENCE_RE.findall(text)]


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_SNIPPET else flat[:_MAX_SNIPPET] + "..."


def _balanced_json(text: str) -> Any:
    decoder = json.JSONDecoder()
    for index, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(text, index)
            except json.JSONDecodeError:
                continue
            return value
    raise ValueError("no JSON object or array found")


def extract_json(text: str, *, what: str = "content") -> Any:
    """The JSON value in a model's text: a ```json fence, any fence holding JSON, the whole text,
    or the first balanced object/array in it."""
    candidates = [body for lang, body in fenced_blocks(text) if lang in ("json", "")]
    candidates += [body for lang, body in fenced_blocks(text) if lang not in ("json", "")]
    candidates.append(text.strip())
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    try:
        return _balanced_json(text)
    except ValueError:
        raise ConversionError(
            f"{what}: no JSON found in the model output (expected a JSON object, ideally in a ```json "
            f"fence); got: {_snippet(text)!r}"
        ) from None


def _yaml_loader() -> Any:
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
        """SafeLoader that keeps CloudFormation short-form tags (!Ref, !Sub, ...) as Fn:: maps."""

    def construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    CloudFormationLoader.add_multi_constructor("!", construct)
    return CloudFormationLoader


def parse_yaml(text: str) -> Any:
    """Parse YAML safely, understanding CloudFormation's short-form intrinsic tags."""
    import yaml

    return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass


def extract_structured(text: str, *, what: str = "content") -> Any:
    """JSON or YAML from a model's text (fenced or bare); the result must be a mapping or a list."""
    import yaml

    blocks = fenced_blocks(text)
    candidates = [body for lang, body in blocks if lang in ("yaml", "yml", "json", "")]
    candidates += [body for lang, body in blocks if lang not in ("yaml", "yml", "json", "")]
    candidates.append(text.strip())
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
        try:
            value = parse_yaml(candidate)
        except yaml.YAMLError:
            continue
        if isinstance(value, dict | list):
            return value
    raise ConversionError(
        f"{what}: no JSON or YAML document found in the model output (expected a ```yaml or ```json "
        f"fence); got: {_snippet(text)!r}"
    )


def extract_code(text: str, *, language: str = "python", what: str = "code") -> str | dict[str, str]:
    """Source code from a model's text.

    A JSON object mapping file names to code is returned as that map; otherwise the fenced blocks in
    ``language`` (or unlabelled) are joined; otherwise the whole text, if it parses as ``language``.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            files = json.loads(stripped)
        except json.JSONDecodeError:
            files = None
        if isinstance(files, dict) and files and all(isinstance(v, str) for v in files.values()):
            return {str(k): v for k, v in files.items()}
    aliases = {language, {"python": "py"}.get(language, language), ""}
    blocks = [body for lang, body in fenced_blocks(text) if lang in aliases]
    if blocks:
        return "\n\n".join(blocks) + "\n"
    if language == "python":
        import ast

        try:
            ast.parse(stripped)
        except SyntaxError as exc:
            raise ConversionError(
                f"{what}: no ```python fence and the text is not valid Python "
                f"(line {exc.lineno}: {exc.msg}); got: {_snippet(text)!r}"
            ) from None
        return stripped + "\n"
    if not stripped:
        raise ConversionError(f"{what}: the model output is empty")
    return stripped + "\n"


def parse_json_value(name: str, value: str | None, *, default: Any = None) -> Any:
    """A request property that holds JSON as a string (Bedrock sends every value as a string).

    ``None`` or empty gives ``default``; invalid JSON is an :class:`InvalidInputError` naming the field.
    """
    if value is None or not value.strip():
        return default
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{name} must be JSON (Bedrock sends it as a string): {exc.msg} at position {exc.pos}"
        ) from None
