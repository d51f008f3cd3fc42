"""The reference lesson in Simplified Chinese: the same twelve scenes and pictures, Chinese
titles, bullets and narration (written for Lectern's benchmark, a close rendering of the
English), so a cold Chinese render can be timed against the English one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bench.reference_lesson import ATTRIBUTION, _scenes, draw_images
from synthesis.storyboard import Storyboard

# Scene id -> (title, bullets (empty: keep the scene's), narration).
CHINESE = {
    "intro": (
        "用 Git 记录改动",
        (),
        "欢迎。在接下来的三分钟里，你会了解人们为什么要记录工作中的改动，"
        "以及一个叫 Git 的工具如何替你完成这件事。你不需要任何编程经验。"
        "你只需要一个你在乎、想要保护好的文件夹。",
    ),
    "why": (
        "为什么要记录改动？",
        ("几天后也能撤销错误", "看清谁改了什么、为什么改", "与他人合作而不互相覆盖"),
        "你有没有把文件存成“最终版”，然后是“最终版二”，再然后是“真的最终版”？"
        "版本控制取代了这个习惯。它让你在几天后也能撤销错误，看清谁改了什么、为什么改，"
        "还能与他人合作而不覆盖彼此的工作。科学家、作家和老师和程序员一样常用它。",
    ),
    "versions": (
        "一份文档的两个版本",
        (),
        "把一份文档看成一个起点加上一系列改动。两个人可以从同一份文档出发，做出不同的改动，"
        "于是得到两个不同的版本。Git 记录每一次改动，所以任何版本都不会丢失。"
        "之后，这两个版本甚至可以合并成一个。",
    ),
    "three-places": (
        "工作存放的三个地方",
        ("工作目录：你编辑的文件", "暂存区：你选好的改动", "仓库：保存下来的历史"),
        "你的工作存放在三个地方。工作目录存放你正在编辑的文件。"
        "暂存区存放你选好、准备下一次保存的改动。仓库保存每一次改动的历史。"
        "把这三者分开，你就能准确决定每次保存包含什么。",
    ),
    "staging": (
        "从编辑到提交",
        (),
        "在这些地方之间移动改动需要两个命令。命令 git add 把改动放进暂存区。"
        "命令 git commit 把暂存区里的一切连同一条说明保存到仓库。"
        "你可以先添加几个文件再提交，它们会被一起保存。",
    ),
    "first-commit": (
        "你的第一次提交",
        (),
        "这是一次完整的首次提交。我们创建一个仓库，写一段关于火星的简短笔记，"
        "添加这个文件，再附上一条说明提交它。Git 会回复一个简短的代码，永远指向这次提交。"
        "以后你会用这样的代码重新找到这次提交。",
    ),
    "snapshot": (
        "提交就是一张快照",
        (),
        "一次提交就像整个项目在某一刻的照片。之后你可以回看任何一张照片，比较其中两张，"
        "或者让项目回到当时的样子。和真正的照片不同，提交还记录了是谁拍的、什么时候拍的，以及为什么。",
    ),
    "messages": (
        "好的提交说明",
        ("简短：不超过五十个字符", "说明为什么，而不只是改了什么", "每次提交只做一件事"),
        "好的提交说明很简短，通常不超过五十个字符。它说明为什么要改，而不只是改了什么。"
        "每次提交只应包含一个想法，这样容易查找，也容易撤销。将来的你会感谢这些清楚的说明。",
    ),
    "history": (
        "项目的历史",
        (),
        "随着时间推移，提交形成了一段历史。你可以在一个单独的分支上尝试新想法，"
        "这里叫 experiment，而主线保持安全。想法成功了，就把它合并回主线。"
        "如果不成功，只要把这个分支留在那里就好。",
    ),
    "log": (
        "阅读历史",
        (),
        "要阅读历史，就用 git log。加上单行选项后，每次提交只占一行：它的简短代码和说明。"
        "好的说明让这份列表读起来像项目的日记。最新的提交总是在列表的最上面。",
    ),
    "chart": (
        "一个班级项目的提交",
        (),
        "因为每次提交都有记录，老师可以看到一个班级项目是怎样成长起来的。"
        "这张图统计了每个工作日的提交数。星期四最忙，有三十一次提交，正好在星期五截止之前。"
        "小而规律的提交，对任何小组项目都是好习惯。",
    ),
    "recap": (
        "我们学到了什么",
        ("版本控制记录每一次改动", "git add 暂存，git commit 保存", "提交形成可以阅读和撤销的历史"),
        "我们来回顾一下。版本控制记录你工作中的每一次改动。"
        "命令 git add 暂存改动，git commit 连同说明把它保存下来。"
        "所有提交合在一起，形成一段你可以阅读、分享和撤销的历史。这周就在自己的笔记上试试吧。做得好。",
    ),
}


def reference_storyboard_zh(image_dir: Path, *, scene_count: int = 12) -> Storyboard:
    """The Chinese reference lesson with its first scene_count scenes (at most 12)."""
    scenes = []
    for scene in _scenes(draw_images(image_dir))[:scene_count]:
        title, bullets, narration = CHINESE[scene.id]
        visual = replace(scene.visual, title=title, bullets=bullets or scene.visual.bullets)
        if scene.id == "intro":
            visual = replace(visual, subtitle="三分钟入门")
        scenes.append(replace(scene, visual=visual, narration=narration, language="zh"))
    return Storyboard(
        title="用 Git 记录改动", language="zh", scenes=tuple(scenes), attribution=ATTRIBUTION
    )
