"""Load and validate ``sources.yaml`` and ``scenarios.yaml``.

Validation is done by pydantic models with ``extra="forbid"`` (a typo is an error, never a
silent default); every problem is reported with the file, the line (found by walking the YAML
node tree along the error's location) and the dotted key. Duplicate YAML keys, which PyYAML
would silently collapse, are errors too.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from .errors import ConfigError, ConfigProblem
from .neardup import NearDupParams

ID_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )


StrictModel = _Strict  # the base of every YAML schema: unknown keys are errors


def _clean_terms(terms: list[str]) -> list[str]:
    for t in terms:
        if not t or not t.strip():
            raise ValueError("a term is empty")
    return terms


# --------------------------------------------------------------------------- scenarios.yaml


class TermRule(_Strict):
    """Shared shape of everything matched by terms. Evaluated per sentence:
    (one of ``any``, if given) and (every term of ``all``, within ``within`` tokens if given)
    and (no term of ``none``); plus, at article level, one of ``context`` if given and at least
    ``min_sentences`` sentences hit (an article about the subject, not one naming it once)."""

    any: list[str] = Field(default_factory=list)
    all: list[str] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)
    context: list[str] = Field(default_factory=list)
    within: int | None = Field(default=None, ge=1, le=200)
    min_sentences: int = Field(default=1, ge=1, le=20)
    weight: float = Field(default=1.0, gt=0, le=10)
    comment: str | None = None

    _check_terms = field_validator("any", "all", "none", "context")(_clean_terms)

    @model_serializer(mode="wrap")
    def _without_default_min_sentences(
        self, handler: SerializerFunctionWrapHandler
    ) -> dict[str, Any]:
        # min_sentences came after stores recorded their applied scenarios: left out at its
        # default, the canonical JSON (and the fingerprint) of a file that does not use it stays
        # what those stores recorded, so they see no edit.
        data: dict[str, Any] = handler(self)
        if data.get("min_sentences") == 1:
            del data["min_sentences"]
        return data

    @model_validator(mode="after")
    def _has_terms(self) -> TermRule:
        if not self.any and not self.all:
            raise ValueError("empty term list: give at least one term in 'any' or 'all'")
        if self.within is not None and len(self.all) + (1 if self.any else 0) < 2:
            raise ValueError(
                "'within' needs at least two terms to bring together ('all', or 'all' + 'any')"
            )
        return self


class Item(TermRule):
    id: str = Field(pattern=ID_RE)
    label: str = Field(min_length=1)
    section: str | None = None  # where in the seed this comes from


class Milestone(TermRule):
    id: str = Field(pattern=ID_RE)
    year: int = Field(ge=1960, le=2100)
    text: str = Field(min_length=1)
    section: str | None = None


class Announcer(_Strict):
    id: str = Field(pattern=ID_RE)
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    section: str | None = None
    comment: str | None = None

    _check_aliases = field_validator("aliases")(_clean_terms)


class Rupture(_Strict):
    id: str = Field(pattern=ID_RE)
    title: str = Field(min_length=1)
    summary: str = ""
    kind: Literal["developed", "micro"] = "developed"
    section: str | None = None
    watch: list[Item] = Field(default_factory=list)
    early_signs: list[Item] = Field(default_factory=list)
    doubts: list[Item] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    announcers: list[Announcer] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_evidence_items(self) -> Rupture:
        if not (self.watch or self.early_signs or self.milestones):
            raise ValueError("a rupture needs at least one watch, early_signs or milestones item")
        return self

    def all_items(self) -> list[tuple[str, Item | Milestone | Announcer]]:
        """(kind, item) for every item of this rupture, in file order."""
        out: list[tuple[str, Item | Milestone | Announcer]] = []
        out += [("watch", i) for i in self.watch]
        out += [("early_sign", i) for i in self.early_signs]
        out += [("doubt", i) for i in self.doubts]
        out += [("milestone", i) for i in self.milestones]
        out += [("announcer", i) for i in self.announcers]
        return out


class Scenarios(_Strict):
    version: int = 1
    ruptures: list[Rupture] = Field(min_length=1)

    def semantic_problems(self) -> list[tuple[tuple[int | str, ...], str]]:
        """Cross-entry rules (unique ids), located like pydantic errors."""
        out: list[tuple[tuple[int | str, ...], str]] = []
        seen: set[str] = set()
        items: set[str] = set()
        for ri, r in enumerate(self.ruptures):
            if r.id in seen:
                out.append((("ruptures", ri, "id"), f"duplicate rupture id {r.id!r}"))
            seen.add(r.id)
            for group in ("watch", "early_signs", "doubts", "milestones", "announcers"):
                for ii, it in enumerate(getattr(r, group)):
                    if it.id in items:
                        out.append(
                            (
                                ("ruptures", ri, group, ii, "id"),
                                f"duplicate item id {it.id!r} (item ids are unique across the file)",
                            )
                        )
                    items.add(it.id)
        return out

    def canonical_json(self) -> str:
        """The scenarios as JSON with sorted keys: what the fingerprint hashes, and what the
        store records as applied (``signals.rematch``)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    def fingerprint(self) -> str:
        """Ruleset version: changes whenever anything that affects matching changes."""
        return fingerprint_of(self.canonical_json())

    def rupture(self, rupture_id: str) -> Rupture:
        for r in self.ruptures:
            if r.id == rupture_id:
                return r
        raise KeyError(rupture_id)


def fingerprint_of(canonical_json: str) -> str:
    """The fingerprint of scenarios given as their ``canonical_json``."""
    return hashlib.sha256(canonical_json.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- sources.yaml


class FetchSettings(_Strict):
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)  # total deadline per request
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_bytes: int = Field(default=10_000_000, ge=1024)  # after decompression
    max_redirects: int = Field(default=5, ge=0, le=20)
    per_host_concurrency: int = Field(default=2, ge=1, le=32)
    concurrency: int = Field(default=8, ge=1, le=128)
    user_agent: str = "Signals/0.1 (+https://example.org/signals; news watch for foresight)"
    disable_after_failures: int = Field(default=10, ge=1)  # consecutive hard failures
    backoff_base_seconds: float = Field(default=300.0, gt=0)
    backoff_max_seconds: float = Field(default=86_400.0, gt=0)
    allow_networks: list[str] = Field(default_factory=list)  # CIDRs admitted despite being private
    keep_attempts_days: int = Field(default=90, ge=1)  # fetch_attempts older than this are pruned

    @field_validator("allow_networks")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as e:
                raise ValueError(f"not a network: {net!r} ({e})") from None
        return v


class DedupSettings(_Strict):
    """Near-duplicate collapse before the NLP (``signals.neardup``)."""

    enabled: bool = True
    threshold: float = Field(default=0.75, ge=0.3, le=1.0)  # Jaccard of 5-word shingle sets
    window_days: int = Field(default=7, ge=0, le=365)  # copies published this close to the original
    min_words: int = Field(default=25, ge=5)  # shorter bodies are never collapsed

    def params(self) -> NearDupParams | None:
        if not self.enabled:
            return None
        return NearDupParams(
            threshold=self.threshold,
            window_days=self.window_days,
            min_shingles=max(1, self.min_words - NearDupParams.shingle_words + 1),
        )


class SourceDefaults(_Strict):
    interval_minutes: int = Field(default=60, ge=1)
    fetch_pages: bool = True
    language: str = "fr"


class Source(_Strict):
    id: str = Field(pattern=ID_RE)
    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    tags: list[str] = Field(default_factory=list)
    interval_minutes: int | None = Field(default=None, ge=1)
    fetch_pages: bool | None = None
    enabled: bool = True
    comment: str | None = None


class Sources(_Strict):
    defaults: SourceDefaults = Field(default_factory=SourceDefaults)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    sources: list[Source] = Field(default_factory=list)

    def semantic_problems(self) -> list[tuple[tuple[int | str, ...], str]]:
        out: list[tuple[tuple[int | str, ...], str]] = []
        seen: set[str] = set()
        for i, src in enumerate(self.sources):
            if src.id in seen:
                out.append((("sources", i, "id"), f"duplicate source id {src.id!r}"))
            seen.add(src.id)
        return out


@dataclass(frozen=True)
class SourceSpec:
    """A source with the file's defaults applied: what the fetcher works with."""

    id: str
    name: str
    url: str
    language: str
    tags: tuple[str, ...]
    interval_minutes: int
    fetch_pages: bool
    enabled: bool


def resolve_sources(cfg: Sources) -> list[SourceSpec]:
    d = cfg.defaults
    return [
        SourceSpec(
            id=s.id,
            name=s.name,
            url=s.url,
            language=s.language or d.language,
            tags=tuple(s.tags),
            interval_minutes=s.interval_minutes or d.interval_minutes,
            fetch_pages=d.fetch_pages if s.fetch_pages is None else s.fetch_pages,
            enabled=s.enabled,
        )
        for s in cfg.sources
    ]


# --------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _compose(path: Path, text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(
            [ConfigProblem(str(path), line, "(syntax)", f"invalid YAML: {problem}")]
        ) from None


def _duplicate_keys(path: Path, node: yaml.Node | None, where: str = "") -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = str(k.value)
            dotted = f"{where}.{key}" if where else key
            if key in seen:
                out.append(ConfigProblem(str(path), k.start_mark.line + 1, dotted, "duplicate key"))
            seen.add(key)
            out += _duplicate_keys(path, v, dotted)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out += _duplicate_keys(path, v, f"{where}[{i}]")
    return out


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """Line (1-based) of the deepest node reachable along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for k, v in node.value:
                if k.value == part:
                    # for an unknown key, point at the key itself
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _dotted(loc: Sequence[int | str], data: Any) -> str:
    """``ruptures[2](school-breakdown).watch[0].any`` style key, naming ids where they exist."""
    out = ""
    cur = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            try:
                cur = cur[part]
                if isinstance(cur, dict) and isinstance(cur.get("id"), str):
                    out += f"({cur['id']})"
            except (IndexError, KeyError, TypeError):
                cur = None
        else:
            out += f".{part}" if out else str(part)
            cur = cur.get(part) if isinstance(cur, dict) else None
    return out or "(top level)"


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file: its data and node tree (for line numbers)."""

    path: Path
    data: Any
    root: yaml.Node | None


def read_yaml(path: Path) -> YamlDoc:
    """Read and parse ``path``; unreadable files, bad syntax and duplicate keys are
    :class:`ConfigError`. An empty file is an empty mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), None, "(file)", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([ConfigProblem(str(path), None, "(file)", f"cannot read: {e}")]) from None
    root = _compose(path, text)
    problems = _duplicate_keys(path, root)
    if problems:
        raise ConfigError(problems)
    data = yaml.safe_load(text) if root is not None else None
    return YamlDoc(path, {} if data is None else data, root)


def validate(doc: YamlDoc, model: type[M], context: dict[str, Any] | None = None) -> M:
    """``doc`` validated by ``model`` (pydantic; ``context`` reaches its validators), then by
    its ``semantic_problems()`` if it has one. Every problem is located (file, line, dotted key)
    and raised together as :class:`ConfigError`."""
    path, data, root = doc.path, doc.data, doc.root
    problems: list[ConfigProblem] = []
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(str(path), 1, "(top level)", "expected a mapping")])
    try:
        result = model.model_validate(data, context=context)
    except ValidationError as e:
        for err in e.errors():
            loc = [p for p in err["loc"] if isinstance(p, int | str)]
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                allowed = _allowed_keys(model, loc[:-1])
                msg = "unknown key" + (f" (valid keys: {', '.join(allowed)})" if allowed else "")
            elif err["type"] == "string_pattern_mismatch" and loc and loc[-1] == "id":
                msg = "must be kebab-case: lowercase letters, digits and single hyphens"
            problems.append(ConfigProblem(str(path), _line_of(root, loc), _dotted(loc, data), msg))
        raise ConfigError(problems) from None
    semantic = getattr(result, "semantic_problems", None)
    if semantic is not None:
        for loc, msg in semantic():
            problems.append(ConfigProblem(str(path), _line_of(root, loc), _dotted(loc, data), msg))
        if problems:
            raise ConfigError(problems)
    return result


def line_of(doc: YamlDoc, loc: Sequence[int | str]) -> int | None:
    """Line (1-based) of the node at ``loc`` (e.g. ``("articles", 3)``) in ``doc``."""
    return _line_of(doc.root, loc)


def _load(path: Path, model: type[M]) -> M:
    return validate(read_yaml(path), model)


def _allowed_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Field names valid at ``loc`` (for the 'unknown key' message)."""
    cur: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = (
            cur.model_fields.get(part)
            if isinstance(cur, type) and issubclass(cur, BaseModel)
            else None
        )
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        cur = next(
            (a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        if cur is None:
            return []
    if isinstance(cur, type) and issubclass(cur, BaseModel):
        return sorted(cur.model_fields)
    return []


def load_scenarios(path: Path) -> Scenarios:
    return _load(path, Scenarios)


def load_sources(path: Path) -> Sources:
    return _load(path, Sources)


_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ConfigSummary:
    sources: int
    enabled_sources: int
    ruptures: int
    items: int
    terms: int


def summarise(sources: Sources, scenarios: Scenarios) -> ConfigSummary:
    items = terms = 0
    for r in scenarios.ruptures:
        for _, it in r.all_items():
            items += 1
            if isinstance(it, Announcer):
                terms += 1 + len(it.aliases)
            else:
                terms += len(it.any) + len(it.all) + len(it.none) + len(it.context)
    return ConfigSummary(
        sources=len(sources.sources),
        enabled_sources=sum(s.enabled for s in sources.sources),
        ruptures=len(scenarios.ruptures),
        items=items,
        terms=terms,
    )
