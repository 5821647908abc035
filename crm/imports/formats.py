"""Real export shapes turned into import rows (field names as in crm.imports.rows.TARGETS).

Each converter takes the parsed JSON document and yields (item number, row). Field names follow
the services' documentation:
- Discourse directory items (`/directory_items.json`): directory_items[].user.username / name,
  likes_received, likes_given, topic_count, post_count, days_visited...
- Discourse user actions (`/user_actions.json`): user_actions[].action_type, username, name,
  created_at, topic_id, post_number, title, excerpt, slug, target_username.
- GitHub events (`/orgs/{org}/events`, `/repos/{o}/{r}/events`): a list of {id, type, actor.login,
  repo.name, created_at, payload}.
- X API v2 users (`/2/users/by`): data[].id, username, name, description, location, verified,
  public_metrics.followers_count / following_count / tweet_count.
- X API v2 posts (`/2/tweets/search/recent` with expansions=author_id): data[].id, text,
  author_id, created_at, public_metrics.like_count / retweet_count / reply_count / quote_count /
  impression_count, includes.users[].id / username / name.
- YouTube channels (`/youtube/v3/channels?part=snippet,statistics`): items[].id,
  snippet.title / customUrl / description / country (kept as the location), statistics.subscriberCount /
  videoCount / viewCount (counts are strings; a hidden subscriber count imports as 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

from crm.i18n import N_
from crm.imports.reader import iter_items
from crm.imports.rows import Entity

Rows = Iterator[tuple[int, dict[str, Any]]]


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    discourse_directory = "discourse_directory"
    discourse_actions = "discourse_actions"
    github_events = "github_events"
    x_users = "x_users"
    x_posts = "x_posts"
    youtube_channels = "youtube_channels"


FORMAT_LABELS = {
    Format.csv: N_("CSV (any delimiter)"),
    Format.jsonl: N_("JSON lines"),
    Format.discourse_directory: N_("Discourse: directory items"),
    Format.discourse_actions: N_("Discourse: user actions"),
    Format.github_events: N_("GitHub: events"),
    Format.x_users: N_("X API v2: users"),
    Format.x_posts: N_("X API v2: posts"),
    Format.youtube_channels: N_("YouTube: channel statistics"),
}
GENERIC = frozenset({Format.csv, Format.jsonl})


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def discourse_directory(doc: Any, base_url: str = "") -> Rows:
    for n, item in enumerate(iter_items(doc, "directory_items"), start=1):
        item = _d(item)
        user = _d(item.get("user"))
        username = user.get("username") or ""
        yield n, {
            "platform": "discourse", "handle": username, "display_name": user.get("name") or username,
            "posts": item.get("post_count", 0),
            "url": f"{base_url.rstrip('/')}/u/{username}" if base_url and username else "",
        }  # fmt: skip


# Discourse action types: 1 like, 2 was liked, 4 new topic, 5 reply, 6 response, 7 mention, 9 quote, 15 solved.
_DISCOURSE_KINDS = {4: "post", 5: "reply", 6: "reply", 7: "mention", 9: "mention", 15: "forum_answer"}


def discourse_actions(doc: Any, base_url: str = "") -> Rows:
    for n, item in enumerate(iter_items(doc, "user_actions"), start=1):
        item = _d(item)
        kind = _DISCOURSE_KINDS.get(item.get("action_type"))  # type: ignore[arg-type]
        row: dict[str, Any] = {
            "external_id": f"{item.get('topic_id')}/{item.get('post_number')}/{item.get('action_type')}",
            "person_platform": "discourse", "person_handle": item.get("username") or item.get("acting_username") or "",
            "person_name": item.get("name") or item.get("acting_name") or "",
            "kind": kind or f"discourse action {item.get('action_type')}", "channel": "discourse",
            "occurred_at": item.get("created_at"), "title": item.get("title") or "",
            "body": item.get("excerpt") or "",
        }  # fmt: skip
        if base_url and item.get("slug"):
            row["url"] = f"{base_url.rstrip('/')}/t/{item['slug']}/{item.get('topic_id')}/{item.get('post_number')}"
        target = item.get("target_username")
        if target and target != row["person_handle"]:
            row.update(counterpart_platform="discourse", counterpart_handle=target)
        yield n, row


_GITHUB_KINDS = {
    "IssuesEvent": "bug_report", "IssueCommentEvent": "reply", "PullRequestEvent": "post",
    "PullRequestReviewEvent": "review", "PullRequestReviewCommentEvent": "review", "ReleaseEvent": "article",
    "DiscussionEvent": "post", "DiscussionCommentEvent": "forum_answer", "WatchEvent": "mention",
    "ForkEvent": "mention", "PushEvent": "post", "CreateEvent": "post",
}  # fmt: skip


def github_events(doc: Any, base_url: str = "") -> Rows:
    items = doc if isinstance(doc, list) else list(iter_items(doc, "events"))
    for n, item in enumerate(items, start=1):
        item = _d(item)
        actor, repo, payload = _d(item.get("actor")), _d(item.get("repo")), _d(item.get("payload"))
        repo_name = repo.get("name") or ""
        issue = _d(payload.get("issue") or payload.get("pull_request") or payload.get("discussion"))
        comment = _d(payload.get("comment") or payload.get("review"))
        title = issue.get("title") or f"{item.get('type', '')} {repo_name}".strip()
        url = comment.get("html_url") or issue.get("html_url") or (f"https://github.com/{repo_name}" if repo_name else "")
        row: dict[str, Any] = {
            "external_id": str(item.get("id") or ""), "person_platform": "github",
            "person_handle": actor.get("login") or "", "kind": _GITHUB_KINDS.get(item.get("type") or "", "post"),
            "channel": "github", "occurred_at": item.get("created_at"), "title": str(title)[:300],
            "body": str(comment.get("body") or issue.get("body") or "")[:20_000], "url": url,
        }  # fmt: skip
        author = _d(issue.get("user")).get("login")
        if comment and author and author != row["person_handle"]:
            row.update(counterpart_platform="github", counterpart_handle=author)
        yield n, row


def x_users(doc: Any, base_url: str = "") -> Rows:
    for n, user in enumerate(iter_items(doc, "data"), start=1):
        user = _d(user)
        metrics = _d(user.get("public_metrics"))
        username = user.get("username") or ""
        yield n, {
            "key": user.get("id") or "", "platform": "x", "handle": username,
            "display_name": user.get("name") or username, "bio": user.get("description") or "",
            "location": user.get("location") or "", "verified": bool(user.get("verified")),
            "followers": metrics.get("followers_count", 0), "following": metrics.get("following_count", 0),
            "posts": metrics.get("tweet_count", 0), "url": f"https://x.com/{username}" if username else "",
        }  # fmt: skip


def x_posts(doc: Any, base_url: str = "") -> Rows:
    users = {str(_d(u).get("id")): _d(u) for u in iter_items(doc, "includes", "users")}
    for n, post in enumerate(iter_items(doc, "data"), start=1):
        post = _d(post)
        metrics = _d(post.get("public_metrics"))
        author = users.get(str(post.get("author_id")), {})
        username = author.get("username") or ""
        row: dict[str, Any] = {
            "external_id": str(post.get("id") or ""), "kind": "post", "channel": "x",
            "occurred_at": post.get("created_at"), "body": post.get("text") or "",
            "title": (post.get("text") or "")[:120],
            "reach": metrics.get("impression_count", 0),
            "engagements": sum(int(metrics.get(k) or 0) for k in ("like_count", "retweet_count", "reply_count", "quote_count")
                               if isinstance(metrics.get(k), int)),
            "url": f"https://x.com/{username}/status/{post.get('id')}" if username else "",
        }  # fmt: skip
        if username:
            row.update(person_platform="x", person_handle=username, person_name=author.get("name") or username)
        elif post.get("author_id"):
            row["person_key"] = str(post["author_id"])  # an X user imported earlier (key = X user id)
        yield n, row


def youtube_channels(doc: Any, base_url: str = "") -> Rows:
    for n, item in enumerate(iter_items(doc, "items"), start=1):
        item = _d(item)
        snippet, stats = _d(item.get("snippet")), _d(item.get("statistics"))
        custom = (snippet.get("customUrl") or "").lstrip("@")
        handle = custom or item.get("id") or ""
        url = f"https://www.youtube.com/@{custom}" if custom else (
            f"https://www.youtube.com/channel/{item['id']}" if item.get("id") else "")
        row = {
            "key": item.get("id") or "", "platform": "youtube", "handle": handle,
            "display_name": snippet.get("title") or handle, "bio": snippet.get("description") or "",
            "location": snippet.get("country") or "",
            "followers": stats.get("subscriberCount", "0") if not stats.get("hiddenSubscriberCount") else "0",
            "posts": stats.get("videoCount", "0"), "url": url,
        }  # fmt: skip
        yield n, row


CONVERTERS: dict[Format, tuple[Entity, Callable[..., Rows]]] = {
    Format.discourse_directory: (Entity.people, discourse_directory),
    Format.discourse_actions: (Entity.interactions, discourse_actions),
    Format.github_events: (Entity.interactions, github_events),
    Format.x_users: (Entity.people, x_users),
    Format.x_posts: (Entity.interactions, x_posts),
    Format.youtube_channels: (Entity.people, youtube_channels),
}
DEFAULT_SOURCE = {
    Format.discourse_directory: "discourse", Format.discourse_actions: "discourse", Format.github_events: "github",
    Format.x_users: "x", Format.x_posts: "x", Format.youtube_channels: "youtube",
}  # fmt: skip
