"""JSON Schemas of ``scenarios.yaml`` and ``sources.yaml``, generated from the pydantic models of
``config.py`` so that editors (through ``# yaml-language-server: $schema=…`` on the first line of
each file) complete keys and flag mistakes before ``signals check`` does.

The schemas are committed under ``schemas/``; ``signals schema --check`` fails when they no
longer match the models (CI runs it through a test). The models stay the only validator: the
schema is for editors, and cross-entry rules (unique ids, terms that normalise to nothing) are
only checked by ``signals check``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .config import Scenarios, Sources

__all__ = ["SCHEMAS", "SchemaFile", "render", "stale", "write"]
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class SchemaFile:
    name: str  # file name under the schemas directory
    model: type[BaseModel]
    title: str


SCHEMAS = (
    SchemaFile("scenarios.schema.json", Scenarios, "Signals scenarios.yaml: the ruptures watched"),
    SchemaFile("sources.schema.json", Sources, "Signals sources.yaml: the feeds polled"),
)


def render(sf: SchemaFile) -> str:
    """The schema's committed text (stable: sorted keys, one trailing newline)."""
    schema: dict[str, Any] = {"$schema": DRAFT, **sf.model.model_json_schema(), "title": sf.title}
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def stale(directory: Path) -> list[Path]:
    """Schema files under ``directory`` that are missing or differ from the models."""
    out = []
    for sf in SCHEMAS:
        p = directory / sf.name
        try:
            current = p.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != render(sf):
            out.append(p)
    return out


def write(directory: Path) -> list[Path]:
    """Write every schema file under ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for sf in SCHEMAS:
        p = directory / sf.name
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(render(sf), encoding="utf-8")
        tmp.replace(p)
        paths.append(p)
    return paths
