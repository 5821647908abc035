"""HTML routes: topics (what we listen for), the mentions list with sentiment correction, capturing a
mention by hand, and the sentiment word lists."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext, ngettext
from crm.interactions.models import InteractionKind
from crm.jobs.models import Job, JobStatus
from crm.listening import lexicons, mentions, topics
from crm.listening.models import TopicKind
from crm.listening.sentiment import LANGUAGES
from crm.profiles.models import Platform
from crm.templating import is_fragment_request, render
from crm.web.common import Form, field_errors, redirect, safe_next, text
from crm.web.forms import forgiving

router = APIRouter(prefix="/listening")
ACTIVE = (JobStatus.queued.value, JobStatus.running.value)


# ---- topics -----------------------------------------------------------------------------------------

@router.get("/topics")
def topics_page(request: Request, db: DB, user: CurrentUser) -> Response:
    return render(request, "listening/topics.html", {"rows": topics.list_topics(session=db), "tab": "topics"},
                  block="topic_list")


def _form_context(values: dict[str, Any], errors: dict[str, str], topic_id: int | None, **extra: Any) -> dict[str, Any]:
    return {"values": values, "errors": errors, "topic_id": topic_id, "kinds": list(TopicKind), "tab": "topics",
            "max_terms": topics.MAX_TERMS, **extra}


def _values_of(topic: Any) -> dict[str, Any]:
    return {"name": topic.name, "kind": topic.kind, "terms": "\n".join(topic.terms),
            "exclusions": "\n".join(topic.exclusions), "active": topic.active}


def _typed(form: FormData) -> dict[str, Any]:
    return {"name": text(form, "name"), "kind": text(form, "kind") or TopicKind.brand.value,
            "terms": str(form.get("terms") or ""), "exclusions": str(form.get("exclusions") or ""),
            "active": form.get("active") in ("on", "true", "1"), "sample": str(form.get("sample") or "")}


@router.get("/topics/new")
def new_topic(request: Request, user: WriterUser) -> Response:
    values = {"name": "", "kind": TopicKind.brand.value, "terms": "", "exclusions": "", "active": True}
    return render(request, "listening/topic_form.html", _form_context(values, {}, None))


def _save_topic(request: Request, db: Session, user: Any, form: FormData, topic_id: int | None) -> Response:
    values = _typed(form)
    try:
        data = topics.TopicIn.model_validate({k: v for k, v in values.items() if k != "sample"})
        actor = actor_for(request, user)
        job: Job | None
        if topic_id is None:
            topic, job = topics.create_topic(data, session=db, actor=actor)
        else:
            topic, job = topics.update_topic(topic_id, data, session=db, actor=actor)
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        errors = exc.field_errors or {"__all__": exc.message}
    else:
        message = gettext("Topic “%(name)s” saved.") % {"name": topic.name}
        if job is not None:
            return redirect(request, f"/listening/topics/jobs/{job.id}", flash=message)
        return redirect(request, "/listening/topics", flash=message)
    return render(request, "listening/topic_form.html", _form_context(values, errors, topic_id),
                  block="topic_form", status_code=422)


@router.post("/topics")
def create_topic(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _save_topic(request, db, user, form, None)


@router.post("/topics/try")
def try_topic(request: Request, db: DB, user: CurrentUser, form: Form) -> Response:
    """The form's "try it" box: which term the text matches (nothing is written)."""
    values = _typed(form)
    result, errors = None, {}
    try:
        data = topics.TryIn.model_validate({"text": values["sample"], "terms": values["terms"],
                                            "exclusions": values["exclusions"]})
        result = topics.try_text(data, session=db)
    except ValidationError as exc:
        errors = field_errors(exc)
        if "text" in errors:
            errors["sample"] = gettext("Paste a text to try.") if not values["sample"].strip() else errors["text"]
    raw_id = text(form, "topic_id")
    topic_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else None
    ctx = _form_context(values, errors, topic_id, result=result)
    return render(request, "listening/topic_form.html", ctx, block="try_result", status_code=422 if errors else 200)


@router.get("/topics/jobs/{job_id}")
def listen_job(request: Request, db: DB, user: CurrentUser, job_id: IdPath) -> Response:
    job = topics.listen_job(job_id, session=db)
    topic_id = int(job.params.get("topic_id", 0))
    try:
        topic = topics.get_topic(topic_id, session=db)
    except NotFound:
        topic = None
    ctx = {"job": job, "topic": topic, "active": job.status in ACTIVE, "tab": "topics"}
    return render(request, "listening/topic_job.html", ctx, block="progress")


@router.get("/topics/{topic_id}/edit")
def edit_topic(request: Request, db: DB, user: WriterUser, topic_id: IdPath) -> Response:
    topic = topics.get_topic(topic_id, session=db)
    return render(request, "listening/topic_form.html", _form_context(_values_of(topic), {}, topic_id))


@router.post("/topics/{topic_id}")
def update_topic(request: Request, db: DB, user: WriterUser, topic_id: IdPath, form: Form) -> Response:
    return _save_topic(request, db, user, form, topic_id)


@router.post("/topics/{topic_id}/active")
def switch_topic(request: Request, db: DB, user: WriterUser, topic_id: IdPath, form: Form) -> Response:
    """Switch a topic on or off (in place on the list)."""
    active = form.get("active") in ("on", "true", "1")
    topic, job = topics.set_active(topic_id, active, session=db, actor=actor_for(request, user))
    db.commit()
    message = (gettext("“%(name)s” is on.") if active else gettext("“%(name)s” is off.")) % {"name": topic.name}
    if not is_fragment_request(request):
        return redirect(request, "/listening/topics", flash=message)
    ctx = {"row": topics.topic_row(topic_id, session=db), "job": job, "message": message}
    return render(request, "listening/topic_row.html", ctx)


@router.get("/topics/{topic_id}/delete")
def confirm_delete(request: Request, db: DB, user: WriterUser, topic_id: IdPath) -> Response:
    row = topics.topic_row(topic_id, session=db)
    return render(request, "listening/topic_delete.html", {"row": row, "tab": "topics"})


@router.post("/topics/{topic_id}/delete")
def delete_topic(request: Request, db: DB, user: WriterUser, topic_id: IdPath) -> Response:
    try:
        name, count = topics.delete_topic(topic_id, session=db, actor=actor_for(request, user))
    except Conflict as exc:  # alert rules or alerts depend on it: say so on the confirmation page
        db.rollback()
        row = topics.topic_row(topic_id, session=db)
        return render(request, "listening/topic_delete.html", {"row": row, "tab": "topics", "error": exc.message},
                      status_code=409)
    db.commit()
    message = ngettext("Topic “%(name)s” deleted, with its %(n)d mention.",
                       "Topic “%(name)s” deleted, with its %(n)d mentions.", count) % {"name": name, "n": count}
    return redirect(request, "/listening/topics", flash=message)


# ---- mentions -----------------------------------------------------------------------------------

def mentions_url(query: mentions.MentionQuery, **changes: Any) -> str:
    values: dict[str, Any] = {**query.filters(), "sort": query.sort.value, "page": query.page}
    values.update(changes)
    shown = {k: ("true" if v is True else getattr(v, "value", v)) for k, v in values.items()
             if v not in (None, "", False) and not (k == "page" and v == 1) and not (k == "sort" and v == "date")}
    return "/listening/mentions?" + urlencode(shown)


@router.get("/mentions")
def mentions_page(request: Request, db: DB, user: CurrentUser) -> Response:
    query = forgiving(mentions.MentionQuery, request.query_params)
    listing = mentions.mention_rows(query, session=db)
    ctx = {"listing": listing, "query": query, "tab": "mentions", "url": mentions_url,
           "topic_choices": mentions.topic_choices(session=db), "channels": mentions.channels(session=db),
           "kinds": mentions.LISTENED_KINDS, "labels": list(mentions.SentimentLabel),
           "next_url": mentions_url(query, page=listing.page)}
    return render(request, "listening/mentions.html", ctx, block="results")


@router.post("/interactions/{interaction_id}/sentiment")
def correct_sentiment(request: Request, db: DB, user: WriterUser, interaction_id: IdPath, form: Form) -> Response:
    try:
        label = mentions.SentimentIn.model_validate({"sentiment": text(form, "sentiment")}).sentiment
    except ValidationError:
        raise InvalidInput(gettext("Choose negative, neutral, positive or unknown."),
                           field_errors={"sentiment": gettext("Choose one of the options.")}) from None
    mentions.correct_sentiment(interaction_id, label, session=db, actor=actor_for(request, user))
    db.commit()
    if not is_fragment_request(request):
        return redirect(request, safe_next(text(form, "next"), "/listening/mentions"),
                        flash=gettext("Sentiment corrected."))
    row = mentions.mention_row(interaction_id, session=db)
    return render(request, "listening/mention_row.html", {"row": row, "labels": list(mentions.SentimentLabel),
                                                          "next_url": safe_next(text(form, "next"), "")})


CAPTURE_FIELDS = ("url", "text", "title", "profile_id", "platform", "handle", "name", "occurred_at", "kind", "channel",
                  "reach", "sentiment")


def _capture_context(db: Session, values: dict[str, Any], errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    pid = str(values.get("profile_id") or "")
    return {"values": values, "errors": errors, "tab": "mentions", "platforms": list(Platform),
            "kinds": mentions.LISTENED_KINDS, "labels": list(mentions.SentimentLabel),
            "author_name": mentions.person_name(int(pid), session=db) if pid.isdigit() and len(pid) < 11 else "",
            **extra}


@router.get("/mentions/new")
def capture_form(request: Request, db: DB, user: WriterUser) -> Response:
    values = {"kind": InteractionKind.mention.value, "profile_id": request.query_params.get("profile_id", "")[:12],
              "url": request.query_params.get("url", "")[:500]}
    return render(request, "listening/mention_new.html", _capture_context(db, values, {}))


@router.get("/mentions/authors")
def author_choices(request: Request, db: DB, user: WriterUser, q: str = "", author_q: str = "") -> Response:
    """People matching what is typed in the capture form's author box (htmx)."""
    q = q or author_q
    if not is_fragment_request(request):
        return redirect(request, "/listening/mentions/new")
    return render(request, "listening/mention_authors.html",
                  {"people": mentions.people_choices(q[:200], session=db), "q": q[:200]})


@router.post("/mentions/new")
def capture_mention(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    values = {name: text(form, name) for name in CAPTURE_FIELDS}
    data = {k: v for k, v in values.items() if v != ""}
    if "reach" in data:
        data["reach"] = data["reach"].replace(",", "").replace("_", "").replace(" ", "")
    try:
        captured = mentions.capture(mentions.CaptureIn.model_validate(data), session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        errors = field_errors(exc)
        if "__all__" in errors and "handle" not in errors:
            errors["platform"] = errors.pop("__all__")
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        errors = exc.field_errors or {"__all__": exc.message}
    else:
        if captured.topics:
            names = ", ".join(h.name for h in captured.topics)
            message = gettext("Mention captured: it matched %(topics)s.") % {"topics": names}
        else:
            message = gettext("No topic matched: it is kept as an interaction of %(name)s.") % {
                "name": captured.profile.display_name}
        if captured.person_created:
            message += " " + gettext("%(name)s was added as a prospect.") % {"name": captured.profile.display_name}
        return redirect(request, f"/people/{captured.profile.id}", flash=message)
    return render(request, "listening/mention_new.html", _capture_context(db, values, errors), block="capture_form",
                  status_code=422)


# ---- sentiment word lists ---------------------------------------------------------------------------

def _words_context(db: Session, language: str, **extra: Any) -> dict[str, Any]:
    words = lexicons.word_list(language, session=db)
    return {"words": words, "language": language, "languages": LANGUAGES, "tab": "topics", "errors": {},
            "text": words.as_text(), **extra}


@router.get("/words")
def words_page(request: Request, db: DB, user: CurrentUser, lang: str = "en") -> Response:
    language = lang if lang in LANGUAGES else "en"
    return render(request, "listening/words.html", _words_context(db, language), block="word_list")


@router.post("/words/reestimate")
def reestimate(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    done = lexicons.reestimate(session=db, actor=actor_for(request, user))
    db.commit()
    message = ngettext("%(n)d estimated label checked, %(changed)d changed.",
                       "%(n)d estimated labels checked, %(changed)d changed.", done.checked) % {
        "n": done.checked, "changed": done.changed}
    lang = text(form, "lang")
    return redirect(request, "/listening/words" + (f"?lang={lang}" if lang in LANGUAGES else ""), flash=message)


@router.post("/words/{language}")
def save_words(request: Request, db: DB, user: WriterUser, language: str, form: Form) -> Response:
    lexicons.check_language(language)
    typed = str(form.get("words") or "")
    try:
        lexicons.save_lines(language, typed, session=db, actor=actor_for(request, user))
        db.commit()
    except InvalidInput as exc:
        db.rollback()
        errors = exc.field_errors
        lines = sorted(((int(k.split(".", 1)[1]), v) for k, v in errors.items() if k.startswith("line.")))
        ctx = _words_context(db, language, errors=errors, text=typed, line_errors=lines)
        return render(request, "listening/words.html", ctx, block="word_list", status_code=422)
    return redirect(request, f"/listening/words?lang={language}",
                    flash=gettext("Word list saved. Labels already estimated keep their value until you re-estimate them."))


@router.get("/words/{language}/restore")
def confirm_restore(request: Request, db: DB, user: WriterUser, language: str) -> Response:
    lexicons.check_language(language)
    return render(request, "listening/words_restore.html", _words_context(db, language))


@router.post("/words/{language}/restore")
def restore_words(request: Request, db: DB, user: WriterUser, language: str) -> Response:
    lexicons.restore_builtin(language, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, f"/listening/words?lang={language}", flash=gettext("The built-in word list is back in force."))
