"""Tracked terms, matched as full text in English and Spanish: case and accents folded, each word
compared by its Snowball stem in both languages ("refund" finds "refunds", "reembolso" finds
"reembolsos"), a phrase as consecutive words, a trailing * as a prefix ("crash*" finds "crashed",
"crashes"). A topic's exclusions use the same syntax: a text that matches one is no mention.

Pure functions of plain data: crm.listening.match feeds them interactions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

WORD = re.compile(r"[^\W_]+")  # letters and digits of any script (folded first)
MAX_TERM_WORDS = 6
_STEMMERS = (snowballstemmer.stemmer("english"), snowballstemmer.stemmer("spanish"))


def fold(text: str) -> str:
    """Lower case without accents: "Caída" -> "caida"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


@lru_cache(maxsize=200_000)
def stems(word: str) -> frozenset[str]:
    """The word's stems in English and in Spanish (a text's language is not always known)."""
    return frozenset(s.stemWord(word) for s in _STEMMERS) | {word}


@dataclass(frozen=True)
class Term:
    """One tracked term: its words, each either a stem set or a prefix."""

    text: str
    parts: tuple[tuple[bool, frozenset[str] | str], ...]  # (is_prefix, stems or prefix)

    def matches_at(self, tokens: Sequence[str], start: int) -> bool:
        if start + len(self.parts) > len(tokens):
            return False
        for offset, (is_prefix, key) in enumerate(self.parts):
            token = tokens[start + offset]
            if is_prefix:
                if not token.startswith(key):  # type: ignore[arg-type]
                    return False
            elif not stems(token) & key:  # type: ignore[operator]
                return False
        return True


class BadTerm(ValueError):
    pass


def parse_term(text: str) -> Term:
    """A term from what a person typed; raises BadTerm with the reason when it cannot match anything."""
    raw = text.strip()
    if raw.startswith("-"):
        raise BadTerm(f"{raw!r}: to leave something out, put it under exclusions (without the -)")
    tokens = [t for t in re.split(r"\s+", fold(raw)) if t]
    parts: list[tuple[bool, frozenset[str] | str]] = []
    for i, token in enumerate(tokens):
        prefix = token.endswith("*")
        found = WORD.findall(token)
        if prefix and (i != len(tokens) - 1 or len(found) != 1):
            raise BadTerm(f"{raw!r}: a * goes at the end of the last word only")
        if prefix and len(found[0]) < 3:
            raise BadTerm(f"{raw!r}: a prefix needs at least three letters before the *")
        for j, word in enumerate(found):
            if prefix and j == len(found) - 1:
                parts.append((True, word))
            else:
                parts.append((False, stems(word)))
    if not parts:
        raise BadTerm(f"{raw!r} has no letters or digits to look for")
    if len(parts) == 1 and not parts[0][0] and len(WORD.findall(fold(raw))[0]) < 2:
        raise BadTerm(f"{raw!r}: one letter would match almost everything")
    if len(parts) > MAX_TERM_WORDS:
        raise BadTerm(f"{raw!r}: a phrase of at most {MAX_TERM_WORDS} words")
    return Term(text=raw, parts=tuple(parts))


@dataclass
class TopicTerms:
    topic_id: int
    terms: list[Term]
    exclusions: list[Term] = field(default_factory=list)


@dataclass
class Matcher:
    """Every active topic's terms, indexed by the first word so a text is read once."""

    topics: list[TopicTerms]
    _by_stem: dict[str, list[tuple[int, Term]]] = field(default_factory=dict)
    _prefixed: list[tuple[int, Term]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for topic in self.topics:
            for term in topic.terms:
                is_prefix, key = term.parts[0]
                if is_prefix:
                    self._prefixed.append((topic.topic_id, term))
                else:
                    for stem in key:  # type: ignore[union-attr]
                        self._by_stem.setdefault(stem, []).append((topic.topic_id, term))
        self._exclusions = {t.topic_id: t.exclusions for t in self.topics if t.exclusions}
        self._candidates: dict[str, list[tuple[int, Term]]] = {}  # token -> terms that may start there

    def _starting_with(self, token: str) -> list[tuple[int, Term]]:
        cached = self._candidates.get(token)
        if cached is None:
            cached = []
            for stem in stems(token):
                cached += self._by_stem.get(stem, ())
            cached += [(tid, t) for tid, t in self._prefixed if token.startswith(t.parts[0][1])]  # type: ignore[arg-type]
            if len(self._candidates) < 500_000:
                self._candidates[token] = cached
        return cached

    def match(self, text: str) -> dict[int, str]:
        """topic id -> the first tracked term found in `text`, for each topic it mentions."""
        tokens = words(text)
        found: dict[int, str] = {}
        for i, token in enumerate(tokens):
            for topic_id, term in self._starting_with(token):
                if topic_id not in found and term.matches_at(tokens, i):
                    found[topic_id] = term.text
        for topic_id in [tid for tid in found if tid in self._exclusions]:
            if any(ex.matches_at(tokens, i) for ex in self._exclusions[topic_id] for i in range(len(tokens))):
                del found[topic_id]
        return found


def topic_terms(topic_id: int, terms: Iterable[str], exclusions: Iterable[str]) -> TopicTerms:
    """Parsed terms; a term that cannot match is left out (forms refuse them before they are stored)."""
    def parsed(texts: Iterable[str]) -> list[Term]:
        out = []
        for text in texts:
            try:
                out.append(parse_term(text))
            except BadTerm:
                continue
        return out

    return TopicTerms(topic_id=topic_id, terms=parsed(terms), exclusions=parsed(exclusions))
