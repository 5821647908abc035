"""Sentiment as a correctable hint. When an interaction arrives without a sentiment, a transparent word
list per language estimates one: each listed word found adds its weight (-3 .. 3), a negation just
before it ("not", "no", "nunca"...) flips it, and the sum divided by 4 and capped at ±1 is the
estimate. The words found are the explanation. Managers edit the lists (crm.listening.lexicons);
vendors admit 60-75 % accuracy for automatic sentiment, so an estimate is marked as such and never
the only trigger of an alert.

Pure functions of plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crm.listening.terms import fold, words

LANGUAGES = ("en", "es")
WEIGHT_LIMIT = 3
MAX_WORD = 40
SCALE = 4.0  # a sum of ±4 (two strong words) is a full ±1

NEGATIONS = {
    "en": {"not", "no", "never", "dont", "don", "isnt", "wasnt", "cant", "cannot", "wont", "without", "hardly"},
    "es": {"no", "nunca", "jamas", "ni", "sin", "tampoco"},
}
STOPWORDS = {
    "en": {"the", "and", "is", "it", "to", "of", "this", "that", "with", "for", "was", "my", "you", "are", "on", "have"},
    "es": {"el", "la", "los", "las", "y", "es", "de", "que", "en", "un", "una", "por", "con", "para", "mi", "muy", "lo"},
}

# A "*" at the end makes a prefix: "terribl*" covers terrible, terribly.
BUILTIN: dict[str, dict[str, int]] = {
    "en": {
        "love": 3, "loved": 3, "amazing": 3, "awesome": 3, "excellent": 3, "fantastic": 3, "brilliant": 3,
        "great": 2, "good": 1, "helpful": 2, "thanks": 1, "thank": 1, "recommend": 2, "fast": 1, "easy": 1,
        "happy": 2, "nice": 1, "best": 2, "fixed": 1, "solved": 2, "works": 1, "impressed": 2, "delighted": 3,
        "hate": -3, "awful": -3, "terribl*": -3, "horribl*": -3, "worst": -3, "scam": -3, "useless": -3,
        "bad": -2, "broken": -2, "crash*": -2, "bug": -1, "buggy": -2, "slow": -1, "angry": -2, "disappoint*": -2,
        "refund": -1, "cancel*": -1, "fail*": -2, "down": -1, "outage": -2, "frustrat*": -2, "annoy*": -2,
        "lost": -1, "unusable": -3, "complain*": -1, "poor": -2, "rude": -2, "wrong": -1, "problem*": -1,
    },
    "es": {
        "encanta": 3, "encantado": 3, "genial": 3, "excelente": 3, "increible": 3, "fantastico": 3,
        "bueno": 1, "buena": 1, "gracias": 1, "recomiendo": 2, "rapido": 1, "facil": 1, "feliz": 2,
        "mejor": 2, "resuelto": 2, "funciona": 1, "util": 2, "perfecto": 3,
        "odio": -3, "horribl*": -3, "terribl*": -3, "pesimo": -3, "peor": -3, "estafa": -3, "inutil": -3,
        "malo": -2, "mala": -2, "roto": -2, "fallo*": -2, "falla*": -2, "error*": -1, "lento": -1, "lenta": -1,
        "enfadado": -2, "decepcion*": -2, "reembolso": -1, "cancelar": -1, "caido": -2, "caida": -2,
        "problema*": -1, "queja*": -1, "frustra*": -2, "perdido": -1,
    },
}


@dataclass(frozen=True)
class Estimate:
    score: float  # -1 .. 1
    language: str
    found: tuple[tuple[str, int], ...]  # (word as written in the text, weight applied, negation included)


def guess_language(tokens: list[str]) -> str:
    """English or Spanish, by which one's common words appear more (ties: English)."""
    counts = {lang: sum(1 for t in tokens if t in stop) for lang, stop in STOPWORDS.items()}
    return "es" if counts["es"] > counts["en"] else "en"


def _weight(token: str, lexicon: Mapping[str, int], prefixes: list[tuple[str, int]]) -> int | None:
    if token in lexicon:
        return lexicon[token]
    for prefix, weight in prefixes:
        if token.startswith(prefix):
            return weight
    return None


def estimate(text: str, lexicons: Mapping[str, Mapping[str, int]], *, language: str = "") -> Estimate | None:
    """The estimate for `text`, or None when no listed word is in it (unknown, not neutral)."""
    tokens = words(text)
    lang = language if language in lexicons else guess_language(tokens)
    listed = lexicons.get(lang, {})
    exact = {w: v for w, v in listed.items() if not w.endswith("*")}
    prefixes = sorted(((w[:-1], v) for w, v in listed.items() if w.endswith("*")), key=lambda p: -len(p[0]))
    negations = NEGATIONS.get(lang, set())
    found: list[tuple[str, int]] = []
    for i, token in enumerate(tokens):
        weight = _weight(token, exact, prefixes)
        if weight is None:
            continue
        if any(t in negations for t in tokens[max(0, i - 2):i]):
            weight = -weight
            token = f"{tokens[i - 1]} {token}" if i else token
        found.append((token, weight))
    if not found:
        return None
    total = sum(w for _, w in found)
    return Estimate(score=round(max(-1.0, min(1.0, total / SCALE)), 2), language=lang, found=tuple(found))


def clean_words(raw: Mapping[str, object]) -> tuple[dict[str, int], dict[str, str]]:
    """A word list as a person sent it: (clean list, word -> why it was refused)."""
    clean: dict[str, int] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        word = str(key).strip()
        tokens = words(word.rstrip("*"))
        folded = tokens[0] if len(tokens) == 1 else ""
        if not folded or folded != fold(word.rstrip("*")):
            errors[word or "?"] = "one word, letters and digits only (a * at the end for a prefix)"
            continue
        if len(folded) > MAX_WORD:
            errors[word[:MAX_WORD] + "…"] = f"at most {MAX_WORD} letters"
            continue
        if word.endswith("*") and len(folded) < 3:
            errors[word] = "a prefix needs at least three letters before the *"
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not -WEIGHT_LIMIT <= value <= WEIGHT_LIMIT or value == 0:
            errors[word] = f"a weight from -{WEIGHT_LIMIT} to {WEIGHT_LIMIT}, not 0"
            continue
        entry = folded + ("*" if word.endswith("*") else "")
        if entry in clean:
            errors[word] = "listed twice (capitals and accents do not count)"
            continue
        clean[entry] = value
    return clean, errors
