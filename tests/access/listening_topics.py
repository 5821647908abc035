"""Who may call the listening_topics routes (topics, mentions, sentiment words), as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/listening/topics"): S,
    ("GET", "/listening/topics/new"): W,
    ("POST", "/listening/topics"): W,
    ("POST", "/listening/topics/try"): S,
    ("GET", "/listening/topics/jobs/{job_id}"): S,
    ("GET", "/listening/topics/{topic_id}/edit"): W,
    ("POST", "/listening/topics/{topic_id}"): W,
    ("POST", "/listening/topics/{topic_id}/active"): W,
    ("GET", "/listening/topics/{topic_id}/delete"): W,
    ("POST", "/listening/topics/{topic_id}/delete"): W,
    ("GET", "/listening/mentions"): S,
    ("GET", "/listening/mentions/new"): W,
    ("POST", "/listening/mentions/new"): W,
    ("GET", "/listening/mentions/authors"): W,
    ("POST", "/listening/interactions/{interaction_id}/sentiment"): W,
    ("GET", "/listening/words"): S,
    ("POST", "/listening/words/reestimate"): W,
    ("POST", "/listening/words/{language}"): W,
    ("GET", "/listening/words/{language}/restore"): W,
    ("POST", "/listening/words/{language}/restore"): W,
    ("GET", "/api/v1/topics"): S,
    ("POST", "/api/v1/topics"): W,
    ("POST", "/api/v1/topics/test"): S,
    ("GET", "/api/v1/topics/{topic_id}"): S,
    ("PATCH", "/api/v1/topics/{topic_id}"): W,
    ("DELETE", "/api/v1/topics/{topic_id}"): W,
    ("GET", "/api/v1/mentions"): S,
    ("POST", "/api/v1/mentions"): W,
    ("PUT", "/api/v1/interactions/{interaction_id}/sentiment"): W,
    ("GET", "/api/v1/sentiment-words/{language}"): S,
    ("PUT", "/api/v1/sentiment-words/{language}"): W,
}
