"""The player, the student home and the gradebook in Simplified Chinese."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_student_pages_in_chinese(client, lesson, classroom, sam):
    client.force_login(sam)
    player = client.get(reverse("learning:player", args=[lesson.pk]), **ZH).content.decode()
    assert "检查我的答案" in player
    assert "字幕大小" in player
    assert "\\u4e0d\\u592a\\u5bf9" in player  # 不太对: the script's strings (json_script)
    assert "未开始" in client.get(reverse("home"), **ZH).content.decode()


def test_gradebook_in_chinese_keeps_its_placeholders(client, alice, lesson, classroom, sam):
    client.force_login(alice)
    page = client.get(reverse("learning:gradebook", args=[classroom.pk]), **ZH).content.decode()
    assert "成绩册" in page
    assert "已观看 0%" in page
    assert 'data-watched-text="已观看 {percent}%"' in page
