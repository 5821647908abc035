"""Profile links and handles, both ways, without the network: a pasted URL names its platform and
handle ("https://x.com/ana/status/1" -> x, ana), and a handle gives back its profile URL where the
platform's addresses are built from it ("ana" on instagram -> https://www.instagram.com/ana/).

Pure functions of text. `fill_identity` is what the identity schema (crm.profiles.models.IdentityIn)
runs before its fields are checked, so the API, the form and the importers read links alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

# Platform values as text (crm.profiles.models.Platform is built on them; this module stays free of it).
X, INSTAGRAM, YOUTUBE, TIKTOK, LINKEDIN, GITHUB = "x", "instagram", "youtube", "tiktok", "linkedin", "github"
DISCOURSE, REDDIT, BLOG, EMAIL, OTHER = "discourse", "reddit", "blog", "email", "other"

# Handles shown with an @ in front (stored without it).
AT_PLATFORMS = frozenset({X, INSTAGRAM, TIKTOK, YOUTUBE})
_SHOWN_WITH_AT = frozenset({X, INSTAGRAM, TIKTOK})

_HOSTS = {
    "x.com": X, "twitter.com": X,
    "instagram.com": INSTAGRAM, "instagr.am": INSTAGRAM,
    "youtube.com": YOUTUBE,
    "tiktok.com": TIKTOK,
    "linkedin.com": LINKEDIN,
    "github.com": GITHUB,
    "reddit.com": REDDIT,
}
# First path segments that are pages of the site, not people.
_NOT_PEOPLE = {
    X: {"home", "i", "intent", "search", "hashtag", "explore", "settings", "messages", "notifications", "share",
        "login", "signup", "tos", "privacy", "compose"},
    INSTAGRAM: {"p", "reel", "reels", "explore", "accounts", "direct", "tv", "about", "developer", "legal"},
    GITHUB: {"features", "topics", "marketplace", "settings", "orgs", "sponsors", "explore", "login", "about",
             "pricing", "search", "notifications", "pulls", "issues", "collections", "trending", "apps"},
}
URL_MAX = 500  # the url column
_YOUTUBE_CHANNEL_ID = re.compile(r"^UC[\w-]{22}$")
_LOOKS_LIKE_HOST = re.compile(r"^[\w-]+(\.[\w-]+)+(:\d+)?(/|$)", re.UNICODE)


class NotAProfileLink(ValueError):
    """The text is not a web address, or names a page that is not a person's profile."""


@dataclass(frozen=True)
class ProfileLink:
    platform: str
    handle: str
    url: str  # the address as it will be stored (a scheme added when it had none)


def with_scheme(text: str) -> str:
    """"x.com/ana" -> "https://x.com/ana": what people copy from an address bar often has no scheme."""
    text = text.strip()
    if "://" not in text and not text.lower().startswith("mailto:") and _LOOKS_LIKE_HOST.match(text):
        return "https://" + text
    return text


def is_web_address(text: str) -> bool:
    """http(s) with a host, or mailto: with an address; nothing with spaces or control characters."""
    if not text or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text) or text != text.strip():
        return False
    if text.lower().startswith("mailto:"):
        return "@" in text[7:] and " " not in text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host or any(ch.isspace() for ch in parts.netloc):
        return False  # spaces after the host are tolerated (browsers encode them), never in it
    return "." in host or host == "localhost" or ":" in host  # a domain, an IPv4 or an IPv6 address


def _site(host: str) -> str:
    host = host.lower().rstrip(".")
    for prefix in ("www.", "m.", "mobile.", "old.", "new.", "np."):
        if host.startswith(prefix):
            host = host[len(prefix):]
    return host


def _segments(path: str) -> list[str]:
    return [unquote(part) for part in path.split("/") if part]


def parse_profile_link(text: str, platform: str | None = None) -> ProfileLink:
    """The platform and handle a link names. `platform`, when the person chose one, decides how a
    link on another site is read (a blog or "other" takes any address; discourse any forum's /u/).
    Raises NotAProfileLink with a message a form can show."""
    url = with_scheme(text)
    if not is_web_address(url):
        raise NotAProfileLink("not a web address")
    if url.lower().startswith("mailto:"):
        address = unquote(url[7:].split("?", 1)[0]).strip()
        return ProfileLink(EMAIL, address, url)
    parts = urlsplit(url)
    site = _site(parts.hostname or "")
    segments = _segments(parts.path)
    found = _HOSTS.get(site) or next((name for host, name in _HOSTS.items() if site.endswith("." + host)), None)
    if platform in (BLOG, OTHER) and found != platform:
        return ProfileLink(platform, _host_and_path(site, parts.path), url)
    if found is None:
        if len(segments) >= 2 and segments[0] in ("u", "users") and (platform in (None, "", DISCOURSE)):
            return ProfileLink(DISCOURSE, segments[1], url)  # a Discourse user page: /u/name[/summary]
        return ProfileLink(BLOG, _host_and_path(site, parts.path), url)
    handle = _handle_on(found, segments)
    if not handle:
        raise NotAProfileLink("not a profile page")
    return ProfileLink(found, handle, url)


def _host_and_path(site: str, path: str) -> str:
    """A blog's handle: its host and path, without the trailing slash ("ana.dev/blog")."""
    return (site + unquote(path)).rstrip("/")


def _handle_on(platform: str, segments: list[str]) -> str:
    first = segments[0] if segments else ""
    if platform in (X, INSTAGRAM, GITHUB):
        if platform == INSTAGRAM and first == "stories" and len(segments) > 1:
            return segments[1]
        return "" if not first or first.lower() in _NOT_PEOPLE[platform] else first.lstrip("@")
    if platform == YOUTUBE:
        if first.startswith("@") and len(first) > 1:
            return first[1:]
        if first in ("channel", "c", "user") and len(segments) > 1:
            return segments[1]
        return ""
    if platform == TIKTOK:
        return first[1:] if first.startswith("@") and len(first) > 1 else ""
    if platform == LINKEDIN:
        return segments[1] if first == "in" and len(segments) > 1 else ""
    if platform == REDDIT:
        return segments[1] if first in ("u", "user") and len(segments) > 1 else ""
    return ""


def clean_handle(platform: str, handle: str) -> str:
    """The handle as stored: trimmed, without a leading @ (an e-mail address keeps its text) and, on
    reddit, without the u/ people write in front. Only @ signs stay as they are (the schema says why
    that is not a handle)."""
    handle = handle.strip()
    if platform == EMAIL:
        return handle
    if platform == REDDIT:
        for prefix in ("/u/", "u/", "/user/"):
            if handle.lower().startswith(prefix):
                handle = handle[len(prefix):]
                break
    stripped = handle.lstrip("@").strip()
    return stripped or handle


def profile_url(platform: str, handle: str) -> str:
    """The profile address built from a handle, or "" where the platform does not allow it."""
    handle = clean_handle(platform, handle)
    if not handle or handle.startswith("@") or any(ch.isspace() or ch in "/?#" for ch in handle):
        return ""
    safe = quote(handle, safe="._-~")
    if platform == X:
        return f"https://x.com/{safe}"
    if platform == INSTAGRAM:
        return f"https://www.instagram.com/{safe}/"
    if platform == YOUTUBE:
        if _YOUTUBE_CHANNEL_ID.match(handle):
            return f"https://www.youtube.com/channel/{safe}"
        return f"https://www.youtube.com/@{safe}"
    if platform == TIKTOK:
        return f"https://www.tiktok.com/@{safe}"
    if platform == LINKEDIN:
        return f"https://www.linkedin.com/in/{safe}/"
    if platform == GITHUB:
        return f"https://github.com/{safe}"
    if platform == REDDIT:
        return f"https://www.reddit.com/user/{safe}/"
    return ""


def display_handle(platform: str, handle: str) -> str:
    """How a handle is shown: "@ana" on x, instagram and tiktok; as stored elsewhere."""
    return f"@{handle}" if platform in _SHOWN_WITH_AT and handle and not handle.startswith("@") else handle


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def fill_identity(data: Mapping[str, Any]) -> dict[str, Any]:
    """An identity's input with what a link or a handle implies filled in: the platform and handle
    from the URL when they are missing, the URL from the handle when it is missing, and the handle
    cleaned. A handle that is itself a link counts as the URL. Nothing typed is overwritten, and a
    URL that cannot be read is left for the schema to refuse with its field message."""
    filled = dict(data)
    platform, handle, url = _text(data.get("platform")), _text(data.get("handle")), _text(data.get("url"))
    if handle and not url and "://" in handle:
        url, handle = handle, ""
        filled["url"], filled["handle"] = url, ""
    if url:
        filled["url"] = url = with_scheme(url)
        if not platform or not handle:
            try:
                link = parse_profile_link(url, platform or None)
            except NotAProfileLink:
                link = None
            if link is not None and (not platform or link.platform == platform):
                if not platform:
                    filled["platform"] = platform = link.platform
                if not handle:
                    filled["handle"] = handle = link.handle
    if platform and handle:
        filled["handle"] = clean_handle(platform, handle)
        if not url:
            built = profile_url(platform, handle)
            if built and len(built) <= URL_MAX:
                filled["url"] = built
    if not platform and "platform" in filled and not filled["platform"]:
        del filled["platform"]  # "" from a form's "detect" choice: missing, not an unknown platform
    return filled
