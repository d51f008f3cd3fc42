"""The benchmark's reference lesson: twelve English scenes, about three minutes of narration.

Text slides, a title card, code slides and images: three PNGs drawn here with Pillow (one
photo-like, which is the hard case for an encoder) and two SVG diagrams from Software
Carpentry (CC-BY-4.0, see bench/assets/SOURCE.md). Longer and shorter lessons for the memory
measurement reuse the same scenes with distinct narration, so no two scenes are identical.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from synthesis.storyboard import Scene, Storyboard, Visual

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
ATTRIBUTION = (
    "Diagrams from Software Carpentry's 'Version Control with Git', CC-BY-4.0, "
    "(c) The Carpentries, https://carpentries.org/"
)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
EditKind = Literal["image", "slide"]


def edited_scene_index(storyboard: Storyboard, kind: EditKind) -> int:
    """The scene an edit of this kind changes: the first image (or slide) from mid-lesson on.

    Image scenes move (Ken Burns) and slides hold still in Lectern, so the two kinds of edit
    cost differently; the benchmark measures both.
    """
    scenes = storyboard.scenes
    wanted = (
        (lambda s: s.visual.kind == "image")
        if kind == "image"
        else (lambda s: s.visual.kind != "image")
    )
    order = list(range(len(scenes) // 2, len(scenes))) + list(range(len(scenes) // 2))
    return next((i for i in order if wanted(scenes[i])), len(scenes) // 2)


def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_BOLD if bold else FONT, size)


def draw_valley_photo(path: Path, *, size_px: tuple[int, int] = (1600, 1000)) -> None:
    """A photo-like landscape: sky gradient, ridges and grain, seeded so it never changes."""
    width, height = size_px
    rng = np.random.default_rng(2026)
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = (1 - rows) * np.array([92, 142, 204]) + rows * np.array([226, 214, 190])
    picture = np.broadcast_to(sky, (height, width, 3)).copy()
    columns = np.arange(width)
    ridges = [
        (0.45, (88, 104, 120)),
        (0.58, (64, 92, 70)),
        (0.72, (46, 74, 44)),
        (0.86, (70, 60, 40)),
    ]
    for level, colour in ridges:
        phases = rng.uniform(0, 2 * np.pi, 4)
        outline = level * height + sum(
            (height * 0.05 / (k + 1)) * np.sin(columns * (k + 1) * 0.004 + phases[k])
            for k in range(4)
        )
        below = np.arange(height)[:, None] >= outline[None, :]
        shade = 1.0 - 0.25 * (np.arange(height)[:, None] - outline[None, :]).clip(0) / height
        picture[below] = (np.array(colour)[None, None, :] * shade[..., None])[below]
    grain = rng.normal(0.0, 9.0, (height, width, 1)) + rng.normal(0.0, 4.0, (height, width, 3))
    image = Image.fromarray(np.clip(picture + grain, 0, 255).astype(np.uint8))
    image.filter(ImageFilter.GaussianBlur(0.6)).save(path)


def draw_commit_history(path: Path, *, size_px: tuple[int, int] = (1600, 900)) -> None:
    """A commit graph: a main line of commits, a branch, and a merge, with labels."""
    width, height = size_px
    image = Image.new("RGB", size_px, (250, 250, 246))
    draw = ImageDraw.Draw(image)
    main_y, branch_y, radius = height * 0.4, height * 0.7, 34
    main = [(width * (0.1 + 0.16 * k), main_y) for k in range(6)]
    branch = [(width * 0.42, branch_y), (width * 0.58, branch_y)]
    draw.line(main, fill=(60, 60, 60), width=8)
    draw.line([main[1], *branch, main[4]], fill=(200, 110, 30), width=8)
    labels = ["init", "add notes", "draft", "fix typo", "merge", "publish"]
    for (x, y), label in zip(main, labels, strict=True):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(40, 110, 190))
        draw.text((x, y - radius - 16), label, font=_font(34), fill=(30, 30, 30), anchor="md")
    for x, y in branch:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(220, 130, 40))
    draw.text(
        (width * 0.5, branch_y + 60), "experiment", font=_font(34), fill=(150, 80, 20), anchor="ma"
    )
    draw.text(
        (width * 0.5, height * 0.08),
        "A project's history",
        font=_font(56, bold=True),
        fill=(20, 20, 20),
        anchor="ma",
    )
    image.save(path)


def draw_commit_chart(path: Path, *, size_px: tuple[int, int] = (1600, 900)) -> None:
    """A bar chart of commits per weekday in a class project."""
    width, height = size_px
    image = Image.new("RGB", size_px, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    counts = [14, 22, 9, 31, 18]
    base_y, top_y = height * 0.85, height * 0.2
    draw.line((width * 0.1, base_y, width * 0.92, base_y), fill=(0, 0, 0), width=4)
    for index, (day, count) in enumerate(zip(days, counts, strict=True)):
        left = width * (0.14 + 0.16 * index)
        bar_top = base_y - (base_y - top_y) * count / max(counts)
        draw.rectangle((left, bar_top, left + width * 0.1, base_y), fill=(70, 140, 90))
        draw.text(
            (left + width * 0.05, base_y + 12), day, font=_font(36), fill=(0, 0, 0), anchor="ma"
        )
        draw.text(
            (left + width * 0.05, bar_top - 10),
            str(count),
            font=_font(36),
            fill=(0, 0, 0),
            anchor="md",
        )
    draw.text(
        (width * 0.5, height * 0.06),
        "Commits per weekday, class project",
        font=_font(52, bold=True),
        fill=(0, 0, 0),
        anchor="ma",
    )
    image.save(path)


def draw_images(image_dir: Path) -> dict[str, Path]:
    """Draw the PNGs into image_dir and name every image the lesson uses."""
    image_dir.mkdir(parents=True, exist_ok=True)
    images = {
        "valley": image_dir / "valley-photo.png",
        "history": image_dir / "commit-history.png",
        "chart": image_dir / "commit-chart.png",
    }
    draw_valley_photo(images["valley"])
    draw_commit_history(images["history"])
    draw_commit_chart(images["chart"])
    images["versions"] = ASSETS_DIR / "versions.svg"
    images["staging"] = ASSETS_DIR / "git-staging-area.svg"
    return images


def _scenes(images: dict[str, Path]) -> list[Scene]:
    def image(key: str, title: str, alt: str) -> Visual:
        return Visual(kind="image", title=title, image_path=str(images[key]), alt=alt)

    return [
        Scene(
            id="intro",
            visual=Visual(
                kind="title",
                title="Keeping Track of Changes with Git",
                subtitle="A three-minute introduction",
            ),
            narration=(
                "Welcome. In the next three minutes you will learn why people keep track of "
                "changes to their work, and how a tool called Git does it for you. "
                "You do not need any experience with programming to follow along. "
                "All you need is a folder of files that you care about and want to keep safe."
            ),
        ),
        Scene(
            id="why",
            visual=Visual(
                kind="text",
                title="Why keep track of changes?",
                bullets=(
                    "Undo a mistake days later",
                    "See who changed what, and why",
                    "Work with others without overwriting each other",
                ),
            ),
            narration=(
                "Have you ever saved a file as final, then final two, then really final? "
                "Version control replaces that habit. "
                "It lets you undo a mistake days later, see who changed what and why, "
                "and work with others without overwriting their work. "
                "Scientists, writers and teachers use it as much as programmers do."
            ),
        ),
        Scene(
            id="versions",
            visual=image(
                "versions",
                "Two versions of one document",
                "One document modified in two different ways, giving two versions",
            ),
            narration=(
                "Think of a document as a starting point plus a series of changes. "
                "Two people can start from the same document and make different changes, "
                "which gives two different versions. "
                "Git records each change, so no version is ever lost. "
                "Later, the two versions can even be combined into one."
            ),
        ),
        Scene(
            id="three-places",
            visual=Visual(
                kind="text",
                title="Three places your work lives",
                bullets=(
                    "The working directory: the files you edit",
                    "The staging area: changes you have chosen",
                    "The repository: the saved history",
                ),
            ),
            narration=(
                "Your work lives in three places. The working directory holds the files you edit. "
                "The staging area holds the changes you have chosen to save next. "
                "The repository holds the saved history of every change. "
                "Keeping these three apart lets you decide exactly what goes into each save."
            ),
        ),
        Scene(
            id="staging",
            visual=image(
                "staging",
                "From edit to commit",
                "git add moves changes to the staging area, "
                "git commit moves them to the repository",
            ),
            narration=(
                "Moving a change between these places takes two commands. "
                "The command git add puts a change in the staging area. "
                "The command git commit takes everything in the staging area "
                "and saves it to the repository, with a message. "
                "You can add several files before you commit, and they are saved together."
            ),
        ),
        Scene(
            id="first-commit",
            visual=Visual(
                kind="code",
                title="Your first commit",
                code_language="bash",
                code=(
                    "$ git init planets\n"
                    "$ cd planets\n"
                    "$ echo 'Cold and dry' > mars.txt\n"
                    "$ git add mars.txt\n"
                    '$ git commit -m "Start notes on Mars"\n'
                    "[main (root-commit) f22b25e] Start notes on Mars\n"
                    " 1 file changed, 1 insertion(+)"
                ),
            ),
            narration=(
                "Here is a first commit from start to finish. We create a repository, "
                "write a short note about Mars, add the file, and commit it with a message. "
                "Git answers with a short code that names this commit for ever. "
                "You will use codes like this one to find the commit again later."
            ),
        ),
        Scene(
            id="snapshot",
            visual=image(
                "valley",
                "A commit is a snapshot",
                "A photograph of a valley with layered hills under an evening sky",
            ),
            narration=(
                "A commit is like a photograph of the whole project at one moment. "
                "Later you can look back at any photograph, compare two of them, "
                "or return the project to exactly how it looked then. "
                "Unlike a real photograph, a commit also records who took it, when, and why."
            ),
        ),
        Scene(
            id="messages",
            visual=Visual(
                kind="text",
                title="Good commit messages",
                bullets=(
                    "Short: under fifty characters",
                    "Say why, not only what",
                    "One idea per commit",
                ),
            ),
            narration=(
                "A good commit message is short, usually under fifty characters. "
                "It says why a change was made, not only what changed. "
                "And each commit should hold one idea, so it is easy to find and easy to undo. "
                "Your future self will thank you for clear messages."
            ),
        ),
        Scene(
            id="history",
            visual=image(
                "history",
                "A project's history",
                "A line of commits with a side branch called experiment that is merged back",
            ),
            narration=(
                "Over time the commits form a history. You can try an idea on a separate branch, "
                "here called experiment, while the main line stays safe. "
                "When the idea works, you merge it back into the main line. "
                "If it does not work, you simply leave the branch behind."
            ),
        ),
        Scene(
            id="log",
            visual=Visual(
                kind="code",
                title="Reading the history",
                code_language="bash",
                code=(
                    "$ git log --oneline\n"
                    "34961b1 Publish the notes\n"
                    "9a1f3c2 Merge the experiment\n"
                    "5e2d7a0 Fix a typo about moons\n"
                    "3b4c1d9 Draft the climate section\n"
                    "0f5a8e7 Add notes on Mars\n"
                    "f22b25e Start notes on Mars"
                ),
            ),
            narration=(
                "To read the history, use git log. With the one line option, each commit takes a "
                "single line: its short code and its message. "
                "Good messages make this list read like a diary of the project. "
                "The newest commit is always at the top of the list."
            ),
        ),
        Scene(
            id="chart",
            visual=image(
                "chart",
                "Commits in a class project",
                "Bar chart of commits per weekday: Monday 14, Tuesday 22, Wednesday 9, "
                "Thursday 31, Friday 18",
            ),
            narration=(
                "Because every commit is recorded, a teacher can see how a class project grew. "
                "This chart counts commits per weekday. Thursday was the busiest day, "
                "with thirty one commits, just before the Friday deadline. "
                "Small, regular commits are a good habit for any group project."
            ),
        ),
        Scene(
            id="recap",
            visual=Visual(
                kind="text",
                title="What we learned",
                bullets=(
                    "Version control records every change",
                    "git add stages, git commit saves",
                    "Commits form a history you can read and undo",
                ),
            ),
            narration=(
                "Let us recap. Version control records every change to your work. "
                "The command git add stages a change, and git commit saves it with a message. "
                "Together the commits form a history you can read, share and undo. "
                "Try it on your own notes this week. Well done."
            ),
        ),
    ]


def reference_storyboard(
    image_dir: Path, *, scene_count: int = 12, edited: EditKind | None = None
) -> Storyboard:
    """The reference lesson with scene_count scenes (scenes past 12 are distinct review scenes).

    edited changes the visual and narration of one scene of that kind (edited_scene_index),
    as a teacher fixing a slide or a picture would.
    """
    base = _scenes(draw_images(image_dir))
    scenes: list[Scene] = []
    for index in range(scene_count):
        scene = base[index % len(base)]
        round_number = index // len(base)
        if round_number:
            scene = replace(
                scene,
                id=f"{scene.id}-review-{round_number}",
                visual=replace(scene.visual, title=f"Review {round_number}: {scene.visual.title}"),
                narration=f"Review, part {round_number}. {scene.narration}",
            )
        scenes.append(scene)
    storyboard = Storyboard(
        title="Keeping Track of Changes with Git",
        language="en",
        scenes=tuple(scenes),
        attribution=ATTRIBUTION,
    )
    if edited is None:
        return storyboard
    position = edited_scene_index(storyboard, edited)
    scene = scenes[position]
    scenes[position] = replace(
        scene,
        visual=replace(scene.visual, title=f"{scene.visual.title} (edited)"),
        narration=scene.narration + " Take a moment to try this on your own project today.",
    )
    return replace(storyboard, scenes=tuple(scenes))


def remedial_scenes() -> tuple[Scene, ...]:
    """Four short remedial scenes (text slides) a personalized variant may insert."""
    topics = [
        ("remedial-staging", "Staging, once more", ("git add picks changes", "Nothing saved yet"),
         "Let us look at staging again. The command git add only picks the changes you want "
         "to keep. Nothing is saved in the history until you commit."),
        ("remedial-commit", "A commit, step by step", ("Stage", "Commit with a message"),
         "Here is a commit step by step. First stage your change, then commit it with a short "
         "message that says why you made it."),
        ("remedial-history", "Reading the history", ("git log lists commits", "Newest first"),
         "To read the history, type git log. It lists every commit, the newest first, with "
         "its author, its date and its message."),
        ("remedial-undo", "Going back", ("Every commit can be restored", "Nothing is lost"),
         "Made a mistake? Every commit can be restored, so nothing you committed is ever lost. "
         "That safety is the whole point of version control."),
    ]  # fmt: skip
    return tuple(
        Scene(
            id=scene_id,
            visual=Visual(kind="text", title=title, bullets=bullets),
            narration=narration,
            role="remedial",
        )
        for scene_id, title, bullets, narration in topics
    )
