"""Redirects in the admin: editors list, search, add and correct them, each old path
answering with a 301 to the new one; what is not a path is refused with a message."""

import html
import re

import pytest

from posts.models import Redirect
from tests.conftest import logged_in, member
from tests.test_workflow import error_text

pytestmark = pytest.mark.django_db

LIST = "/admin/posts/redirect/"
ADD = LIST + "add/"


@pytest.fixture
def editors():
    return logged_in(member("Editor", "editor"))


def old_paths(page):
    return re.findall(r'<th class="field-old_path"><a href="[^"]*">([^<]*)</a></th>', page)


def test_editors_add_a_redirect_that_readers_then_follow(editors, client):
    response = editors.post(ADD, {"old_path": "/posts/old-slug/", "new_path": "/posts/new-slug/", "_save": "保存"})

    assert response.status_code == 302, response.content.decode()
    answer = client.get("/posts/old-slug/?utm_source=x")
    assert (answer.status_code, answer["Location"]) == (301, "/posts/new-slug/?utm_source=x")


def test_the_list_shows_and_searches_old_and_new_paths(editors):
    Redirect.add("/posts/gpt-5/", "/posts/gpt-5-release/")
    Redirect.add("/tags/llm/", "/tags/large-language-models/")

    assert old_paths(editors.get(LIST).content.decode()) == ["/posts/gpt-5/", "/tags/llm/"]
    found = editors.get(LIST, {"q": "large-language"}).content.decode()
    assert old_paths(found) == ["/tags/llm/"]
    assert 'href="/tags/large-language-models/"' in found


def test_a_new_redirect_keeps_chains_one_hop_long(editors):
    Redirect.add("/posts/first/", "/posts/second/")

    editors.post(ADD, {"old_path": "/posts/second/", "new_path": "/posts/third/", "_save": "保存"})

    assert dict(Redirect.objects.values_list("old_path", "new_path")) == {
        "/posts/first/": "/posts/third/",
        "/posts/second/": "/posts/third/",
    }


def test_a_percent_encoded_old_path_is_kept_as_readers_paths_are_read(editors, client):
    editors.post(ADD, {"old_path": "/tags/%E9%80%9F%E5%A0%B1/", "new_path": "/tags/news/", "_save": "保存"})

    assert Redirect.objects.get().old_path == "/tags/速報/"
    assert client.get("/tags/%E9%80%9F%E5%A0%B1/")["Location"] == "/tags/news/"


@pytest.mark.parametrize(
    ("old_path", "new_path", "field"),
    [
        ("posts/old/", "/posts/new/", "old_path"),
        ("//evil.example/", "/posts/new/", "old_path"),
        ("/posts/old/", "posts/new/", "new_path"),
        ("/posts/old/", "javascript:alert(1)", "new_path"),
        ("/posts/same/", "/posts/same/", "new_path"),
    ],
)
def test_what_is_not_a_redirect_is_refused_on_its_field(editors, old_path, new_path, field):
    response = editors.post(ADD, {"old_path": old_path, "new_path": new_path, "_save": "保存"})

    assert response.status_code == 200
    assert error_text(html.unescape(response.content.decode()), field)
    assert not Redirect.objects.exists()


def test_writers_do_not_see_redirects():
    assert logged_in(member("Writer", "writer")).get(LIST).status_code == 403
