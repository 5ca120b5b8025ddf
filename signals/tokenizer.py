"""spaCy's rule-based tokenizer, token offsets only, without spaCy: what the digest needs to
map matched keys back onto a sentence (``Analyser.key_spans``) and what a watch term's keys
are made of (``Analyser.term_keys``).

Building ``spacy.blank("fr")`` costs seconds: importing spaCy, then compiling the French
``token_match``, one 1.4 MB regular expression of 266 alternatives that each repeat the same
few huge Unicode classes (5 s of ``re`` compilation). A digest would pay that to re-tokenise a
few hundred sentences. Here:

* the rules (prefix, suffix, infix, token-match and URL patterns, special cases) are read once
  from spaCy and cached as JSON (``tokenizer-<lang>-<spacy version>.json`` in the ruleset
  cache directory); later processes never import spaCy for them;
* the token-match alternatives sharing a tail are factored, ``^a…X$|^b…X$`` → ``^(?:a…|b…)X$``:
  the same language (concatenation distributes over alternation; spaCy only asks whether it
  matches), compiled in a few milliseconds;
* :meth:`LightTokenizer.spans` follows spaCy's ``Tokenizer.__call__`` step by step (whitespace
  splitting, special cases, affixes, token and URL matches, infixes, then the special cases
  found across tokens), so the offsets are spaCy's (``tests/test_tokenizer.py`` checks them
  against spaCy on real Le Monde items).

A language whose rules cannot be expressed this way (a ``token_match`` that is not a regular
expression) has no light tokenizer: :func:`light_tokenizer` returns None and the caller uses
spaCy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Bump when the layout of a cached rules file changes.
RULES_FORMAT = "1"
_BIG_CLASS = 200  # a character class longer than this is worth factoring out of alternatives
_FACTOR_ABOVE = 50_000  # only patterns this long are factored (spaCy's French token_match)

Span = tuple[int, int]


@dataclass(frozen=True)
class Pattern:
    pattern: str
    flags: int


@dataclass(frozen=True)
class TokenizerRules:
    """What spaCy's tokenizer for one language does, as data."""

    language: str
    spacy_version: str
    prefix: Pattern | None
    suffix: Pattern | None
    infix: Pattern | None
    token_match: Pattern | None
    url_match: Pattern | None
    specials: dict[str, list[str]]  # special case → the texts of its tokens
    faster_heuristics: bool = True
    format: str = field(default=RULES_FORMAT)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TokenizerRules:
        d: dict[str, Any] = json.loads(text)
        if d.get("format") != RULES_FORMAT:
            raise ValueError(f"rules format {d.get('format')!r}, expected {RULES_FORMAT!r}")

        def pattern(key: str) -> Pattern | None:
            v = d[key]
            return Pattern(str(v["pattern"]), int(v["flags"])) if v is not None else None

        return cls(
            language=str(d["language"]),
            spacy_version=str(d["spacy_version"]),
            prefix=pattern("prefix"),
            suffix=pattern("suffix"),
            infix=pattern("infix"),
            token_match=pattern("token_match"),
            url_match=pattern("url_match"),
            specials={str(k): [str(p) for p in v] for k, v in d["specials"].items()},
            faster_heuristics=bool(d["faster_heuristics"]),
        )


def _pattern_of(fn: Any) -> Pattern | None:
    """The regex behind a bound ``re.Pattern`` method (spaCy's ``prefix_search`` etc.)."""
    if fn is None:
        return None
    owner = getattr(fn, "__self__", None)
    if not isinstance(owner, re.Pattern) or not isinstance(owner.pattern, str):
        raise ValueError(f"not a regular expression: {fn!r}")
    return Pattern(owner.pattern, owner.flags)


def rules_from_spacy(tokenizer: Any, language: str) -> TokenizerRules:
    """The rules of a spaCy ``Tokenizer`` (``spacy.blank(language).tokenizer``), the long
    token-match pattern factored. ``ValueError`` when they are not all regular expressions."""
    from spacy.attrs import ORTH

    specials: dict[str, list[str]] = {}
    for key, pieces in tokenizer.rules.items():
        texts = [str(p.get(ORTH, p.get("ORTH", ""))) for p in pieces]
        if "".join(texts) != key:  # spaCy refuses those; never guess offsets
            raise ValueError(f"special case {key!r} changes the text")
        specials[key] = texts
    token_match = _pattern_of(tokenizer.token_match)
    if token_match is not None and len(token_match.pattern) > _FACTOR_ABOVE:
        factored = factor_alternation(token_match.pattern)
        re.compile(factored, token_match.flags)  # re.error: a bug here, not a user error
        token_match = Pattern(factored, token_match.flags)
    return TokenizerRules(
        language=language,
        spacy_version=_spacy_version() or "-",
        prefix=_pattern_of(tokenizer.prefix_search),
        suffix=_pattern_of(tokenizer.suffix_search),
        infix=_pattern_of(tokenizer.infix_finditer),
        token_match=token_match,
        url_match=_pattern_of(tokenizer.url_match),
        specials=specials,
        faster_heuristics=bool(getattr(tokenizer, "faster_heuristics", True)),
    )


# --------------------------------------------------------------------------- regex factoring


def _class_end(pattern: str, i: int) -> int:
    """Where the character class opening at ``pattern[i]`` closes (a ``]`` first, or after
    ``^``, is a member); ValueError if it does not."""
    n = len(pattern)
    i += 1
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":
        i += 1
    while i < n and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    if i >= n:
        raise ValueError("unterminated character class")
    return i


def _scan(pattern: str) -> list[tuple[str, int, int]]:
    """Top-level pieces of ``pattern``: ('|', i, i), ('class', start, end) of character
    classes outside any group; raises ValueError on unbalanced groups."""
    out: list[tuple[str, int, int]] = []
    depth, i, n = 0, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            start, i = i, _class_end(pattern, i)
            if depth == 0:
                out.append(("class", start, i + 1))
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced parenthesis")
        elif c == "|" and depth == 0:
            out.append(("|", i, i))
        i += 1
    if depth:
        raise ValueError("unbalanced parenthesis")
    return out


def _alternatives(pattern: str) -> list[str]:
    cuts = [i for kind, i, _ in _scan(pattern) if kind == "|"]
    bounds = [-1, *cuts, len(pattern)]
    return [pattern[a + 1 : b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _boundaries(s: str) -> set[int]:
    """Positions in ``s`` where a top-level atom starts (not a quantifier), and ``len(s)``."""
    out = {len(s)}
    depth, i, n = 0, 0, len(s)
    while i < n:
        c = s[i]
        if depth == 0 and c not in "*+?{":
            out.add(i)
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(s, i)
        elif c == "{" and depth == 0:
            while i < n and s[i] != "}":
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        i += 1
    return out


def _factor_common(alts: list[str]) -> str:
    """``alts`` (two or more) as one alternative: their common leading and trailing atoms
    written once, ``pre(?:mid1|mid2)post``."""
    cuts = [_boundaries(a) for a in alts]
    lcp = len(os.path.commonprefix(alts))
    pre = max(p for p in range(lcp + 1) if all(p in c for c in cuts))
    lcs = len(os.path.commonprefix([a[::-1] for a in alts]))
    post = 0
    for k in range(min(lcs, min(len(a) for a in alts) - pre), 0, -1):
        if all(len(a) - k in c for a, c in zip(alts, cuts, strict=True)):
            post = k
            break
    mids = [a[pre : len(a) - post] for a in alts]
    if any(not m for m in mids):
        return "|".join(f"(?:{a})" for a in alts)
    return f"{alts[0][:pre]}(?:{'|'.join(mids)}){alts[0][len(alts[0]) - post :]}"


def factor_alternation(pattern: str) -> str:
    """The same language as ``pattern`` (a top-level alternation, each alternative possibly
    wrapped in ``(?:…)``) with far fewer big character classes: the alternatives that share
    the tail starting at their first big class are written ``(?:head1|head2)tail``, then those
    left alone with the same head and first big class share their common leading and trailing
    atoms, ``pre(?:mid1|mid2)post``. What it cannot split is kept as is."""
    flags = re.match(r"\(\?[aiLmsux]+\)", pattern)
    prefix = flags.group(0) if flags else ""
    plain: list[str] = []
    groups: dict[str, list[str]] = {}
    for alt in _alternatives(pattern[len(prefix) :]):
        inner = alt[3:-1] if alt.startswith("(?:") and alt.endswith(")") else alt
        try:
            if inner is not alt and _alternatives(inner) != [inner]:
                inner = alt  # "(?:a)|(?:b)" read as one group that is not: keep whole
            big = [(a, b) for kind, a, b in _scan(inner) if kind == "class" and b - a > _BIG_CLASS]
        except ValueError:
            big = []
        if not big:
            plain.append(inner)
        else:
            groups.setdefault(inner[big[0][0] :], []).append(inner[: big[0][0]])
    out = [f"(?:{p})" for p in plain]
    singles: dict[tuple[str, str], list[str]] = {}
    for tail, heads in groups.items():
        if len(heads) > 1:
            out.append(f"(?:(?:{'|'.join(heads)}){tail})")
            continue
        first = _scan(tail)[0]
        singles.setdefault((heads[0], tail[first[1] : first[2]]), []).append(tail)
    for (head, _), tails in singles.items():
        body = tails[0] if len(tails) == 1 else _factor_common(tails)
        out.append(f"(?:{head}(?:{body}))")
    return prefix + "|".join(out)


def _compile(p: Pattern | None) -> re.Pattern[str] | None:
    return re.compile(p.pattern, p.flags) if p is not None else None


# --------------------------------------------------------------------------- the tokenizer


class LightTokenizer:
    """spaCy's tokenization algorithm (``spacy/tokenizer.pyx``, 3.x) over ``rules``: the
    ``[start, end)`` offsets of the tokens of a text."""

    def __init__(self, rules: TokenizerRules):
        self.rules = rules
        self._prefix = _compile(rules.prefix)
        self._suffix = _compile(rules.suffix)
        self._infix = _compile(rules.infix)
        self._token_match = _compile(rules.token_match)
        self._url_match = _compile(rules.url_match)
        self._specials = {k: tuple(len(p) for p in v) for k, v in rules.specials.items()}
        self._chunk_cache: dict[tuple[str, bool], tuple[int, ...]] = {}
        # the special cases spaCy's PhraseMatcher looks for across tokens, by first token
        self._across: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for key in rules.specials:
            if (
                not rules.faster_heuristics
                or self._find_prefix(key)
                or self._find_infix(key)
                or self._find_suffix(key)
                or " " in key
            ):
                words = tuple(key[a:b] for a, b in self._first_pass(key, False))
                if words:
                    self._across.setdefault(words[0], []).append((key, words))

    # -- spaCy's find_prefix / find_suffix / find_infix
    def _find_prefix(self, s: str) -> int:
        m = self._prefix.search(s) if self._prefix else None
        return m.end() - m.start() if m else 0

    def _find_suffix(self, s: str) -> int:
        m = self._suffix.search(s) if self._suffix else None
        return m.end() - m.start() if m else 0

    def _find_infix(self, s: str) -> list[re.Match[str]]:
        return list(self._infix.finditer(s)) if self._infix else []

    def _matches_token(self, s: str) -> bool:
        return bool(self._token_match and self._token_match.match(s))

    # -- _tokenize_affixes
    def _first_pass(self, text: str, specials: bool) -> list[Span]:
        out: list[Span] = []
        if not text:
            return out
        start = 0
        in_ws = text[0].isspace()
        for i, uc in enumerate(text):
            if uc.isspace() != in_ws:
                if start < i:
                    self._chunk(text, start, i, specials, out)
                start = i + 1 if uc == " " else i
                in_ws = not in_ws
        if start < len(text):
            self._chunk(text, start, len(text), specials, out)
        return out

    def _chunk(self, text: str, start: int, end: int, specials: bool, out: list[Span]) -> None:
        s = text[start:end]
        lengths = self._chunk_cache.get((s, specials))
        if lengths is None:
            lengths = self._tokenize(s, specials)
            if len(self._chunk_cache) < 100_000:
                self._chunk_cache[(s, specials)] = lengths
        pos = start
        for n in lengths:
            out.append((pos, pos + n))
            pos += n

    def _tokenize(self, s: str, specials: bool) -> tuple[int, ...]:
        """Token lengths of one whitespace-delimited chunk (_try_specials_and_cache,
        _split_affixes, _attach_tokens)."""
        if specials and s in self._specials:
            return self._specials[s]
        string, prefixes, suffixes = self._split_affixes(s, specials)
        out = [len(p) for p in prefixes]
        if string:
            if specials and string in self._specials:
                out += self._specials[string]
            elif self._matches_token(string) or (
                self._url_match is not None and self._url_match.match(string)
            ):
                out.append(len(string))
            else:
                out += self._split_infixes(string)
        out += [len(x) for x in reversed(suffixes)]
        return tuple(out)

    def _split_affixes(self, string: str, specials: bool) -> tuple[str, list[str], list[str]]:
        prefixes: list[str] = []
        suffixes: list[str] = []
        last_size = 0
        is_special = self._specials.__contains__ if specials else (lambda _: False)
        while string and len(string) != last_size:
            if self._matches_token(string) or is_special(string):
                break
            last_size = len(string)
            pre_len = self._find_prefix(string)
            prefix = minus_pre = ""
            if pre_len:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and is_special(minus_pre):
                    prefixes.append(prefix)
                    string = minus_pre
                    break
            suf_len = self._find_suffix(string[pre_len:])
            suffix = minus_suf = ""
            if suf_len:
                suffix, minus_suf = string[-suf_len:], string[:-suf_len]
                if minus_suf and is_special(minus_suf):
                    suffixes.append(suffix)
                    string = minus_suf
                    break
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                string = string[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                string = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                string = minus_suf
                suffixes.append(suffix)
        return string, prefixes, suffixes

    def _split_infixes(self, string: str) -> list[int]:
        matches = self._find_infix(string)
        if not matches:
            return [len(string)]
        out: list[int] = []
        start = 0
        for m in matches:
            a, b = m.start(), m.end()
            if a == 0:  # spaCy's ``infix_start == start_before_infixes``
                continue
            if a != start:
                out.append(a - start)
            if a != b:
                out.append(b - a)
            start = b
        if start < len(string):
            out.append(len(string) - start)
        return out

    # -- _apply_special_cases
    def _special_across(self, text: str, tokens: list[Span]) -> list[Span]:
        if not self._across:
            return tokens
        words = [text[a:b] for a, b in tokens]
        found: list[tuple[int, int]] = []
        for i, w in enumerate(words):
            for _, pattern in self._across.get(w, ()):
                j = i + len(pattern)
                if tuple(words[i:j]) == pattern:
                    found.append((i, j))
        if not found:
            return tokens
        # longest first, then leftmost; a span overlapping a longer one is dropped
        seen: set[int] = set()
        kept = []
        for a, b in sorted(set(found), key=lambda s: (-(s[1] - s[0]), s[0])):
            if a not in seen and b - 1 not in seen:
                kept.append((a, b))
            seen.update(range(a, b))
        out: list[Span] = []
        i = 0
        for a, b in sorted(kept):
            out += tokens[i:a]
            start, end = tokens[a][0], tokens[b - 1][1]
            lengths = self._specials.get(text[start:end])
            if lengths is None:
                out += tokens[a:b]
            else:
                for n in lengths:
                    out.append((start, start + n))
                    start += n
            i = b
        out += tokens[i:]
        return out

    def spans(self, text: str) -> list[Span]:
        """The ``[start, end)`` offsets of ``text``'s tokens, as ``nlp.make_doc(text)``'s
        ``(tok.idx, tok.idx + len(tok))``."""
        return self._special_across(text, self._first_pass(text, True))


# --------------------------------------------------------------------------- cached rules


def _spacy_version() -> str | None:
    try:
        return metadata.version("spacy")
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _code_hash() -> str:
    """This module's source: the factoring that wrote a cached pattern is part of its key."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def _rules_path(cache_dir: Path, language: str, version: str) -> Path:
    return cache_dir / f"tokenizer-{language}-{version}-f{RULES_FORMAT}-{_code_hash()}.json"


def load_rules(
    language: str, cache_dir: Path, spacy_tokenizer: Callable[[], Any]
) -> TokenizerRules:
    """The rules of ``language``'s spaCy tokenizer, from ``cache_dir`` when they are there for
    the installed spaCy, else read from ``spacy_tokenizer()`` and written there (atomically).
    Cache problems only log at debug level. ``ValueError``: not expressible
    (:func:`rules_from_spacy`)."""
    version = _spacy_version()
    path = _rules_path(cache_dir, language, version or "-")
    if version is not None:
        try:
            rules = TokenizerRules.from_json(path.read_text(encoding="utf-8"))
            if rules.spacy_version == version and rules.language == language:
                return rules
        except FileNotFoundError:
            pass
        except Exception as e:  # corrupt, truncated, older format
            log.debug("tokenizer rules unreadable (%s: %s): %s", e.__class__.__name__, e, path)
    rules = rules_from_spacy(spacy_tokenizer(), language)
    if version is not None:
        _write(path, rules.to_json())
        for old in cache_dir.glob(f"tokenizer-{language}-*.json"):  # other spaCy or code versions
            if old != path:
                old.unlink(missing_ok=True)
    return rules


def _write(path: Path, text: str) -> None:
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tokenizer-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        log.debug("tokenizer rules not cached (%s): %s", e, path)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
