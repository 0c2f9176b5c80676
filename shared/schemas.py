"""Published event schemas and their compatibility rules (ARCHITECTURE §3).

Every event type and version has a folder `schemas/events/<type>/` of numbered revisions (`1.json`, …). The
current pydantic model's schema must be FULL compatible with *every* revision (FULL_TRANSITIVE):
- backward: a reader of the current schema reads every earlier event;
- forward: a reader of any earlier revision reads current events, ignoring properties it does not know.
So a revision may add or drop *optional* properties only; anything else is a new version (`.v2`) with an
upcaster from the old one (shared.events.UPCASTERS).

The checker covers the JSON Schema subset pydantic emits for Tandem's events: object properties and
`required`, `type`, `format`, `enum`/`const`, `anyOf` (nullable), array `items`, `$ref` into `$defs`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.events import EVENT_TYPES, Event

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas" / "events"
Schema = dict[str, Any]


def current_schema(cls: type[Event]) -> Schema:
    schema = cls.model_json_schema(mode="serialization")
    schema.pop("additionalProperties", None)  # readers must tolerate unknown properties (forward compatibility)
    schema["$id"] = f"https://tandem.example/schemas/events/{cls.type_name}.json"
    schema["title"] = cls.type_name
    return schema


def revisions(type_name: str, folder: Path = SCHEMA_DIR) -> list[tuple[int, Schema]]:
    found = [(int(p.stem), json.loads(p.read_text())) for p in (folder / type_name).glob("*.json")]
    return sorted(found, key=lambda r: r[0])


def compatibility_problems(old: Schema, new: Schema) -> list[str]:
    """Why `new` is not FULL compatible with `old`; empty when it is."""
    problems: list[str] = []
    _compare("", _resolve(old, old), _resolve(new, new), old, new, problems)
    return problems


def check_all(folder: Path = SCHEMA_DIR) -> dict[str, list[str]]:
    """Per event type: what is wrong (unpublished, or incompatible with a revision). Empty lists when all is well."""
    report: dict[str, list[str]] = {}
    for type_name, cls in EVENT_TYPES.items():
        current, problems = current_schema(cls), []
        published = revisions(type_name, folder)
        if not published:
            problems.append("not published: run `tandem schemas publish`")
        elif published[-1][1] != current:
            problems.append(f"changed since revision {published[-1][0]}: run `tandem schemas publish`")
        for number, schema in published:
            problems += [f"revision {number}: {p}" for p in compatibility_problems(schema, current)]
        report[type_name] = problems
    return report


def publish(folder: Path = SCHEMA_DIR) -> list[str]:
    """Write a new revision for each changed type; refuse (ValueError) if any change is incompatible."""
    written = []
    for type_name, cls in EVENT_TYPES.items():
        current, published = current_schema(cls), revisions(type_name, folder)
        if published and published[-1][1] == current:
            continue
        broken = [p for _, schema in published for p in compatibility_problems(schema, current)]
        if broken:
            raise ValueError(f"{type_name} is not compatible with its published revisions: {broken}")
        number = published[-1][0] + 1 if published else 1
        (folder / type_name).mkdir(parents=True, exist_ok=True)
        (folder / type_name / f"{number}.json").write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        written.append(f"{type_name}/{number}.json")
    return written


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _compare(path: str, old: Schema, new: Schema, old_root: Schema, new_root: Schema, problems: list[str]) -> None:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    where = path or "event"
    if "anyOf" in old or "anyOf" in new:
        olds, news = old.get("anyOf", [old]), new.get("anyOf", [new])
        if len(olds) != len(news):
            problems.append(f"{where}: alternatives changed ({len(olds)} -> {len(news)})")
            return
        for i, (o, n) in enumerate(zip(olds, news, strict=True)):
            _compare(f"{where}[{i}]", o, n, old_root, new_root, problems)
        return
    for key in ("type", "format", "const"):
        if old.get(key) != new.get(key):
            problems.append(f"{where}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")
    if sorted(map(str, old.get("enum", []))) != sorted(map(str, new.get("enum", []))):
        problems.append(f"{where}: allowed values changed from {old.get('enum')} to {new.get('enum')}")
    if "items" in old or "items" in new:
        _compare(f"{where}[]", old.get("items", {}), new.get("items", {}), old_root, new_root, problems)
    if old.get("type") == "object" and ("properties" in old or "properties" in new):
        _compare_objects(path, old, new, old_root, new_root, problems)


def _compare_objects(path, old, new, old_root, new_root, problems) -> None:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(old_props.keys() | new_props.keys()):
        field = f"{path}.{name}" if path else name
        if name not in old_props and name in new_required:
            problems.append(f"{field}: new required property (earlier events lack it)")
        elif name not in new_props and name in old_required:
            problems.append(f"{field}: required property removed (earlier readers need it)")
        elif name in old_props and name in new_props:
            if (name in old_required) != (name in new_required):
                problems.append(f"{field}: required changed from {name in old_required} to {name in new_required}")
            _compare(field, old_props[name], new_props[name], old_root, new_root, problems)
