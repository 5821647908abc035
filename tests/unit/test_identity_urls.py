"""Profile links read without the network: every platform the form and the API accept, from the
shapes people copy out of their browsers, and the way back from a handle to its profile URL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm.profiles.identity_urls import (
    NotAProfileLink,
    clean_handle,
    display_handle,
    fill_identity,
    is_web_address,
    parse_profile_link,
    profile_url,
)
from crm.profiles.models import IdentityIn, ProfileIn, normalise_handle

LINKS = [
    # x and twitter: the profile, a post, the mobile site, an @ in the path, a query string
    ("https://x.com/analopez", "x", "analopez"),
    ("https://twitter.com/AnaLopez/status/1789012345678901234", "x", "AnaLopez"),
    ("https://mobile.twitter.com/analopez?lang=es", "x", "analopez"),
    ("http://www.twitter.com/analopez/", "x", "analopez"),
    ("x.com/analopez", "x", "analopez"),
    ("https://x.com/analopez/with_replies", "x", "analopez"),
    # instagram: profile, trailing slash and tracking, a story
    ("https://www.instagram.com/marta.ruiz/", "instagram", "marta.ruiz"),
    ("https://instagram.com/marta.ruiz?igshid=MzRlODBiNWFlZA==", "instagram", "marta.ruiz"),
    ("https://www.instagram.com/stories/marta.ruiz/3301234567890123456/", "instagram", "marta.ruiz"),
    # youtube: @handle (with a tab), /channel/ID, /c/ and /user/ (legacy), the mobile site
    ("https://www.youtube.com/@AnaTube", "youtube", "AnaTube"),
    ("https://www.youtube.com/@AnaTube/videos", "youtube", "AnaTube"),
    ("https://m.youtube.com/@anatube", "youtube", "anatube"),
    ("https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw", "youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw"),
    ("https://www.youtube.com/c/GoogleDevelopers", "youtube", "GoogleDevelopers"),
    ("https://www.youtube.com/user/AnaTubeOld/featured", "youtube", "AnaTubeOld"),
    # tiktok: profile and a video
    ("https://www.tiktok.com/@lucia.codes", "tiktok", "lucia.codes"),
    ("https://www.tiktok.com/@lucia.codes/video/7301234567890123456?lang=es", "tiktok", "lucia.codes"),
    # linkedin /in/, with a country subdomain and trailing slash
    ("https://www.linkedin.com/in/ana-lopez-1a2b3c/", "linkedin", "ana-lopez-1a2b3c"),
    ("https://es.linkedin.com/in/ana-lopez", "linkedin", "ana-lopez"),
    # github: a user, a repository (its owner), a tab
    ("https://github.com/octocat", "github", "octocat"),
    ("https://github.com/octocat/Hello-World", "github", "octocat"),
    ("https://github.com/octocat?tab=repositories", "github", "octocat"),
    # reddit: /u/ and /user/, old and new sites
    ("https://www.reddit.com/user/spez/", "reddit", "spez"),
    ("https://old.reddit.com/u/spez", "reddit", "spez"),
    ("https://reddit.com/u/spez/comments/", "reddit", "spez"),
    # a Discourse forum's user page, with and without a tab
    ("https://community.nimbo.example/u/charlotte_doyle", "discourse", "charlotte_doyle"),
    ("https://discuss.python.org/u/ana/summary", "discourse", "ana"),
    ("https://meta.discourse.org/u/codinghorror/activity", "discourse", "codinghorror"),
    # anything else is a blog: host and path, no www., no trailing slash
    ("https://fiona-carter.blog.example/", "blog", "fiona-carter.blog.example"),
    ("https://www.ana.dev/blog/", "blog", "ana.dev/blog"),
    ("https://medium.com/@analopez", "blog", "medium.com/@analopez"),
    # e-mail
    ("mailto:Ana@Example.com", "email", "Ana@Example.com"),
]


@pytest.mark.parametrize(("url", "platform", "handle"), LINKS)
def test_a_profile_link_names_its_platform_and_handle(url: str, platform: str, handle: str):
    link = parse_profile_link(url)
    assert (link.platform, link.handle) == (platform, handle)


@pytest.mark.parametrize(("url", "platform", "handle"), LINKS)
def test_the_schema_fills_an_identity_from_the_link_alone(url: str, platform: str, handle: str):
    identity = IdentityIn.model_validate({"url": url})
    assert (identity.platform.value, identity.handle) == (platform, handle)
    assert identity.url.startswith(("https://", "http://", "mailto:"))


@pytest.mark.parametrize("url", [
    "https://x.com/home", "https://x.com/search?q=python", "https://x.com/i/lists/123", "https://www.instagram.com/p/C1a2b3/",
    "https://www.instagram.com/reel/C1a2b3/", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/",
    "https://www.tiktok.com/explore", "https://www.linkedin.com/feed/", "https://github.com/features/actions",
    "https://www.reddit.com/r/python/",
])
def test_a_page_of_a_known_site_that_is_not_a_person_is_refused(url: str):
    with pytest.raises(NotAProfileLink):
        parse_profile_link(url)
    with pytest.raises(ValidationError) as caught:
        IdentityIn.model_validate({"url": url})
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [("url",)]
    assert "not a profile page" in errors[0]["msg"]


@pytest.mark.parametrize("text", [
    "not a url", "ana lopez", "http://", "https://", "ftp://x.com/ana", "javascript:alert(1)", "https://x .com/ana",
    "//x.com/ana", "https://[::1", "mailto:", "file:///etc/passwd", "data:text/html,hi",
])
def test_text_that_is_not_a_web_address_is_a_clear_url_error(text: str):
    assert not is_web_address(text)
    with pytest.raises(ValidationError) as caught:
        IdentityIn.model_validate({"url": text})
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [("url",)]  # not also "platform missing", "handle missing"
    assert "not a web address" in errors[0]["msg"]


def test_a_link_for_another_platform_than_the_one_chosen_says_so():
    with pytest.raises(ValidationError) as caught:
        IdentityIn.model_validate({"platform": "x", "url": "https://www.instagram.com/marta.ruiz/"})
    assert [(e["loc"], "instagram" in e["msg"]) for e in caught.value.errors()] == [(("url",), True)]


def test_a_chosen_blog_or_forum_reads_any_address():
    assert IdentityIn.model_validate({"platform": "blog", "url": "https://github.com/octocat"}).handle == "github.com/octocat"
    forum = IdentityIn.model_validate({"platform": "discourse", "url": "https://forum.example/u/ana"})
    assert forum.handle == "ana"


HANDLES = [
    ("x", "analopez", "https://x.com/analopez"),
    ("x", "@analopez", "https://x.com/analopez"),
    ("instagram", "marta.ruiz", "https://www.instagram.com/marta.ruiz/"),
    ("youtube", "@AnaTube", "https://www.youtube.com/@AnaTube"),
    ("youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw", "https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw"),
    ("tiktok", "@lucia.codes", "https://www.tiktok.com/@lucia.codes"),
    ("linkedin", "ana-lopez", "https://www.linkedin.com/in/ana-lopez/"),
    ("github", "octocat", "https://github.com/octocat"),
    ("reddit", "u/spez", "https://www.reddit.com/user/spez/"),
    ("reddit", "spez", "https://www.reddit.com/user/spez/"),
    ("discourse", "ana", ""),  # which forum? not knowable from the handle
    ("blog", "ana.dev", ""),
    ("slack", "ana", ""),
    ("email", "ana@example.com", ""),
    ("x", "two words", ""),
]


@pytest.mark.parametrize(("platform", "handle", "url"), HANDLES)
def test_the_url_is_built_from_the_handle_where_the_platform_allows(platform: str, handle: str, url: str):
    assert profile_url(platform, handle) == url
    identity = IdentityIn.model_validate({"platform": platform, "handle": handle})
    assert identity.url == url


BUILDABLE = [row for row in LINKS if row[1] in ("x", "instagram", "tiktok", "github", "linkedin", "reddit")]


@pytest.mark.parametrize(("url", "platform", "handle"), BUILDABLE)
def test_link_to_handle_and_back_reaches_the_same_profile(url: str, platform: str, handle: str):
    rebuilt = profile_url(platform, handle)
    assert parse_profile_link(rebuilt).handle == handle


def test_the_at_sign_is_handled_the_same_everywhere():
    for platform in ("x", "instagram", "tiktok", "youtube", "github", "discourse", "blog", "other"):
        assert clean_handle(platform, " @ana ") == "ana"
        assert IdentityIn.model_validate({"platform": platform, "handle": "@ana"}).handle == "ana"
        assert normalise_handle(platform, "@Ana") == normalise_handle(platform, "ana")
    assert IdentityIn.model_validate({"platform": "email", "handle": "ana@example.com"}).handle == "ana@example.com"
    assert display_handle("x", "ana") == "@ana" and display_handle("tiktok", "ana") == "@ana"
    assert display_handle("instagram", "ana") == "@ana" and display_handle("github", "ana") == "ana"
    with pytest.raises(ValidationError, match="more than @"):
        IdentityIn.model_validate({"platform": "x", "handle": "@@"})


def test_what_was_typed_is_never_overwritten():
    filled = fill_identity({"platform": "x", "handle": "ana_x", "url": "https://x.com/someone_else"})
    assert filled == {"platform": "x", "handle": "ana_x", "url": "https://x.com/someone_else"}
    # A link typed into the handle box is read as the link.
    assert fill_identity({"handle": "https://github.com/octocat"}) == {
        "platform": "github", "handle": "octocat", "url": "https://github.com/octocat"}
    # The form's "from the link" choice is an empty platform: missing, not an unknown platform.
    assert fill_identity({"platform": "", "handle": "", "url": "https://x.com/ana"})["platform"] == "x"


def test_a_built_url_is_not_a_sent_one():
    """An identity that stays keeps its stored link when a request sends only platform and handle."""
    assert "url" not in IdentityIn.model_validate({"platform": "x", "handle": "ana"}).model_fields_set
    assert "url" in IdentityIn.model_validate({"platform": "x", "handle": "ana", "url": ""}).model_fields_set


def test_a_whole_profile_with_link_only_identities():
    profile = ProfileIn.model_validate({"display_name": "Ana", "identities": [
        {"url": "https://x.com/ana"}, {"url": "https://www.youtube.com/@AnaTube", "followers": 1200}]})
    shown = [(i.platform.value, i.handle, i.followers) for i in profile.identities]
    assert shown == [("x", "ana", 0), ("youtube", "AnaTube", 1200)]
