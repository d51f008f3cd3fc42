"""The player starts with the student's caption size (their profile preference) and its
selector saves a change back to the profile."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def player_html(client, lesson) -> str:
    response = client.get(reverse("learning:player", args=[lesson.pk]))
    assert response.status_code == 200
    return response.content.decode()


def selected_size(content: str) -> list[str]:
    select = re.search(r'<select id="caption-size"[^>]*>(.*?)</select>', content, re.S).group(1)
    return re.findall(r'<option value="(\w+)" selected>', select)


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_the_player_carries_the_students_caption_size(client, lesson, classroom, sam, size):
    sam.captions_size = size
    sam.save(update_fields=["captions_size"])
    client.force_login(sam)

    content = player_html(client, lesson)

    assert f'<media-controller id="player" class="player" data-caption-size="{size}"' in content
    assert selected_size(content) == [size]


def test_a_size_chosen_in_the_player_is_the_next_pages_size(client, lesson, classroom, sam):
    client.force_login(sam)
    content = player_html(client, lesson)
    assert selected_size(content) == ["medium"]
    save_url = re.search(r'<select id="caption-size" data-save-url="([^"]+)"', content).group(1)
    assert save_url == reverse("accounts:caption_size")

    assert client.post(save_url, {"captions_size": "large"}).status_code == 204

    assert 'data-caption-size="large"' in player_html(client, lesson)
