"""``{% checkout_cache %}``: off unless the view gives a spec; on, one entry per key."""

from __future__ import annotations

from typing import Any
from unittest import mock

from django.core.cache import cache
from django.template import Context, Template

TEMPLATE = Template(
    "{% load checkout_tags %}{% checkout_cache spec %}{{ n }}{% endcheckout_cache %}"
)


def render(spec: Any, n: int) -> str:
    return TEMPLATE.render(Context({"spec": spec, "n": n}))


def test_without_a_spec_the_content_is_rendered_and_the_cache_never_asked() -> None:
    with mock.patch.object(cache, "get") as get, mock.patch.object(cache, "set") as set_:
        assert render(None, 1) == "1"
        assert render(None, 2) == "2"
    get.assert_not_called()
    set_.assert_not_called()


def test_with_a_spec_each_key_is_rendered_once_and_then_served() -> None:
    cache.clear()
    assert render({"seconds": 60, "key": "a"}, 1) == "1"
    assert render({"seconds": 60, "key": "a"}, 2) == "1"  # served from the cache
    assert render({"seconds": 60, "key": "b"}, 3) == "3"  # another key, its own content


def test_a_cache_outage_renders_the_content() -> None:
    with mock.patch.object(cache, "get", side_effect=ConnectionError("down")):
        assert render({"seconds": 60, "key": "c"}, 4) == "4"
