"""The sentiment word lists a manager edits: one per language ("word weight" lines in the form, a
word -> weight object in the API), checked by crm.listening.sentiment.clean_words, each refusal
reported against its line. Without an edited list the built-in one applies; restoring it deletes
the edited one. Saving does not touch the history: `reestimate` redoes the labels that are estimates
(never a label from the source or a person's correction), in batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PydField
from sqlalchemy import Table, bindparam, update
from sqlmodel import Session, col, select

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import InvalidInput, NotFound
from crm.i18n import gettext
from crm.interactions.models import Interaction
from crm.listening import match
from crm.listening.models import SentimentLexicon, SentimentSource
from crm.listening.sentiment import BUILTIN, LANGUAGES, WEIGHT_LIMIT, clean_words, estimate
from crm.schemas import InputModel

MAX_WORDS = 2000
BATCH = 2000
X: Table = Interaction.__table__  # type: ignore[attr-defined]


@dataclass
class WordList:
    language: str
    words: list[tuple[str, int]]  # most negative first, then by word
    edited: bool
    updated_at: datetime | None

    def as_text(self) -> str:
        return "\n".join(f"{word} {weight}" for word, weight in self.words)


class WordsIn(InputModel):
    """A whole word list: word (or prefix, "terribl*") -> weight from -3 to 3, not 0."""

    words: dict[str, Any] = PydField(max_length=MAX_WORDS)


class WordsOut(BaseModel):
    language: str
    edited: bool = PydField(description="false: the built-in list is in force")
    words: dict[str, int]
    updated_at: datetime | None


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise NotFound(gettext("There is no word list for “%(language)s”.") % {"language": language[:20]})
    return language


def _ordered(words: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(words.items(), key=lambda item: (item[1], item[0]))


def word_list(language: str, *, session: Session) -> WordList:
    check_language(language)
    row = session.exec(select(SentimentLexicon).where(SentimentLexicon.language == language)).first()
    if row is None:
        return WordList(language, _ordered(BUILTIN.get(language, {})), edited=False, updated_at=None)
    return WordList(language, _ordered(dict(row.words or {})), edited=True, updated_at=row.updated_at)


def parse_lines(text: str) -> tuple[dict[str, Any], dict[int, str], dict[str, int]]:
    """"word weight" lines -> (words, line number -> what is wrong, word -> its line). Blank lines
    and lines starting with # are skipped."""
    words: dict[str, Any] = {}
    problems: dict[int, str] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace("\t", " ").split()
        if len(parts) != 2:
            problems[number] = gettext("write one word and its weight, like “awful -3”")
            continue
        word, weight = parts
        try:
            value: Any = int(weight.replace("+", "", 1) if weight.startswith("+") else weight)
        except ValueError:
            value = weight
        if word in lines:
            problems[number] = gettext("“%(word)s” is listed twice (also line %(line)d)") % {"word": word,
                                                                                          "line": lines[word]}
            continue
        words[word] = value
        lines[word] = number
    return words, problems, lines


def _reason(message: str) -> str:
    """clean_words' reasons, in the reader's language."""
    if message.startswith("one word"):
        return gettext("one word, letters and digits only (a * at the end for a prefix)")
    return gettext("a weight from -%(n)d to %(n)d, not 0") % {"n": WEIGHT_LIMIT}


def _save(language: str, words: dict[str, int], *, session: Session, actor: Actor, note: str = "") -> WordList:
    row = session.exec(select(SentimentLexicon).where(SentimentLexicon.language == language)).first()
    before = dict(row.words) if row is not None else None
    if row is None:
        row = SentimentLexicon(language=language, words=words, updated_by_id=actor.user_id)
    else:
        row.words = words
        row.updated_by_id = actor.user_id
        row.updated_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.sentiment_words, object_type="sentiment_lexicon",
                 object_id=row.id, before={"language": language, "words": before},
                 after={"language": language, "words": words} | ({"note": note} if note else {}))
    return word_list(language, session=session)


def save_lines(language: str, text: str, *, session: Session, actor: Actor) -> WordList:
    """The form: "word weight" lines. Refused as a whole, every bad line named (field "line.N")."""
    check_language(language)
    raw, problems, lines = parse_lines(text)
    clean, refused = clean_words(raw)
    for word, message in refused.items():
        problems[lines.get(word, 0)] = f"“{word}”: {_reason(message)}"
    if len(clean) > MAX_WORDS:
        problems[0] = gettext("At most %(n)d words.") % {"n": MAX_WORDS}
    if problems:
        errors = {f"line.{n}": message for n, message in sorted(problems.items())}
        errors["words"] = gettext("Some lines cannot be used: correct them and save again.")
        raise InvalidInput(gettext("Some lines cannot be used: correct them and save again."), field_errors=errors)
    return _save(language, clean, session=session, actor=actor)


def save_words(language: str, data: WordsIn, *, session: Session, actor: Actor) -> WordList:
    """The API: a word -> weight object. Refused as a whole, every bad word named."""
    check_language(language)
    clean, refused = clean_words(data.words)
    if refused:
        raise InvalidInput(gettext("Some words cannot be used."),
                           field_errors={f"words.{word}": _reason(message) for word, message in refused.items()})
    return _save(language, clean, session=session, actor=actor)


def restore_builtin(language: str, *, session: Session, actor: Actor) -> WordList:
    check_language(language)
    row = session.exec(select(SentimentLexicon).where(SentimentLexicon.language == language)).first()
    if row is not None:
        audit.record(session=session, actor=actor, action=AuditAction.sentiment_words, object_type="sentiment_lexicon",
                     object_id=row.id, before={"language": language, "words": dict(row.words)},
                     after={"language": language, "words": None, "note": "built-in list restored"})
        session.delete(row)
        session.flush()
    return word_list(language, session=session)


@dataclass
class Reestimate:
    checked: int
    changed: int


def reestimate(*, session: Session, actor: Actor) -> Reestimate:
    """Redo every estimated label with the lists in force now, in batches of ids. Labels from the
    source and corrections are not touched; an estimate that finds no listed word becomes unknown."""
    conn = session.connection()
    lists = match.lexicons(conn)
    checked = changed = 0
    after = 0
    while True:
        rows = session.exec(select(Interaction.id, Interaction.title, Interaction.body, Interaction.sentiment)
                            .where(Interaction.sentiment_source == SentimentSource.estimated.value,
                                   col(Interaction.id) > after)
                            .order_by(col(Interaction.id)).limit(BATCH)).all()
        if not rows:
            break
        updates = []
        for iid, title, body, old in rows:
            guess = estimate(f"{title or ''}\n{body or ''}", lists)
            new = guess.score if guess else None
            if new != old:
                updates.append({"b_id": iid, "b_sentiment": new,
                                "b_source": SentimentSource.estimated.value if guess else ""})
        if updates:
            conn.execute(update(X).where(X.c.id == bindparam("b_id"))
                         .values(sentiment=bindparam("b_sentiment"), sentiment_source=bindparam("b_source")), updates)
            match.refresh_negative(conn, [int(u["b_id"] or 0) for u in updates])  # the radar follows the new labels
        checked += len(rows)
        changed += len(updates)
        after = int(rows[-1][0] or 0)
    audit.record(session=session, actor=actor, action=AuditAction.sentiment_words, object_type="sentiment_lexicon",
                 after={"reestimated": checked, "changed": changed})
    return Reestimate(checked=checked, changed=changed)
