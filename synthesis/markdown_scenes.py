"""Plan scenes from lesson blocks: prose becomes text slides; figures, code, formulas their own.

Two modes (see docs/markdown-mapping.md):
- automatic: a title card, then each section's prose packed into text slides of at most
  MAX_SCENE_SPEECH_S of narration; each image, code block, display formula and table is
  a scene narrated by the paragraph that leads into it (or, failing that, the one after);
  Pandoc divs (callout, challenge, solution, objectives...) become slides of their own.
- explicit: when the teacher writes `<!-- slide -->` breaks, each chunk is one scene.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from synthesis.code_output import code_lines, with_output
from synthesis.frames.latex_text import cut_inline_math, replace_inline_math
from synthesis.markdown_blocks import (
    VISUAL_BLOCKS,
    Block,
    Code,
    Directive,
    DivClose,
    DivOpen,
    Heading,
    Image,
    Math,
    Rule,
    Table,
    Text,
)
from synthesis.markdown_math import join_words
from synthesis.messages import Message, gettext_noop
from synthesis.sentences import split_sentences

# A scene's narration stays under about a minute: ~150 English words or ~250 Chinese characters.
MAX_SCENE_SPEECH_S = 60.0
ENGLISH_WORDS_PER_S = 150 / 60
CHINESE_CHARS_PER_S = 250 / 60
MAX_BULLETS = 6
# A bullet may wrap to about two slide lines; longer sentences are cut at a word.
MAX_BULLET_CHARS = {"en": 150, "zh": 60}
# A paragraph gets one bullet per this much narration, so the slide keeps up with the voice.
SPEECH_PER_BULLET_S = 20.0
MAX_CODE_LINES = 30
MAX_FORMULAS_PER_SLIDE = 4
ROLES = ("core", "remedial", "enrichment", "recap")

GENERIC_NARRATION = {
    "code": {"en": "Here is the code.", "zh": "请看这段代码。"},
    "math": {"en": "Here is the formula.", "zh": "请看这个公式。"},
    "table": {"en": "Here is a table.", "zh": "请看这个表格。"},
}
CONTINUED = {"en": " (continued)", "zh": "（续）"}

# Pandoc div classes (Carpentries Workbench and common others): their slide label.
DIV_LABELS = {
    "objectives": ("Objectives", "学习目标"),
    "questions": ("Questions", "问题"),
    "keypoints": ("Key points", "要点"),
    "challenge": ("Challenge", "练习"),
    "exercise": ("Exercise", "练习"),
    "solution": ("Solution", "解答"),
    "hint": ("Hint", "提示"),
    "callout": ("Note", "注意"),
    "note": ("Note", "注意"),
    "discussion": ("Discussion", "讨论"),
    "prereq": ("Prerequisites", "预备知识"),
    "checklist": ("Checklist", "清单"),
    "spoiler": ("More", "更多"),
    "caution": ("Caution", "注意"),
    "warning": ("Warning", "警告"),
    "tip": ("Tip", "提示"),
    "testimonial": ("Testimonial", "感言"),
}
# Divs whose label is part of the slide title and is said aloud ("Challenge: Paper Writing.").
SPOKEN_LABEL_DIVS = {
    "objectives", "questions", "keypoints", "challenge", "exercise", "solution", "hint",
    "discussion", "prereq", "checklist",
}  # fmt: skip
DIV_ROLES = {"keypoints": "recap", "spoiler": "enrichment"}
# Notes for the instructor only: never in a learner's video.
SKIPPED_DIVS = {"instructor", "instructor-note"}
# Section headings that sum a lesson up.
RECAP_HEADINGS = {"summary", "key points", "keypoints", "recap", "小结", "总结", "要点", "本章小结"}

_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
_SENTENCE_END = tuple(".!?。！？:：;；…")
_CLOSERS = "\"'”’)）」』]"


@dataclass(frozen=True)
class Spoken:
    """One part of a scene's narration and where it came from.

    paragraph: the lesson paragraph it was read from (None for words of the lesson outside
    any paragraph: the lesson title, a heading, a narration comment).
    from_lesson: False for words the importer wrote itself ("Here is the code.").
    """

    text: str
    paragraph: int | None = None
    from_lesson: bool = True


@dataclass
class SceneDraft:
    """A scene being planned; markdown.py checks its image and turns it into a Scene."""

    kind: str
    title: str
    subtitle: str = ""
    narration: list[Spoken] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    code: str = ""
    code_language: str = ""
    math: list[str] = field(default_factory=list)
    image: Image | None = None
    concepts: tuple[str, ...] = ()
    role: str = "core"
    notes: list[Message] = field(default_factory=list)
    # True once words from the lesson (prose, a narration comment) are in the narration.
    from_text: bool = False
    # Said when the narration stays empty, and the warning that goes with it (if any).
    fallback: Spoken | None = None
    fallback_note: Message | None = None
    fallback_is_text: bool = False


@dataclass
class _Piece:
    """Up to a minute of narration from one paragraph or list item."""

    speech: str
    bullet: str
    paragraph: int
    in_list: bool
    note: Message | None = None
    more_bullets: tuple[str, ...] = ()


@dataclass
class _Frame:
    """A section or a div: what titles and roles its scenes get."""

    kind: str
    title: str
    role: str
    concepts: tuple[str, ...] = ()
    label: str = ""
    heading: str = ""
    intro: str = ""


def speech_seconds(text: str) -> float:
    """Rough speaking time: 150 English words or 250 Chinese characters a minute."""
    chinese = len(_CJK_CHAR.findall(text))
    latin = _LATIN_WORD.findall(text)
    # A run-on "word" thousands of letters long still takes time to read.
    words = max(len(latin), sum(len(word) for word in latin) / 6)
    return words / ENGLISH_WORDS_PER_S + chinese / CHINESE_CHARS_PER_S


def end_sentence(text: str, language: str) -> str:
    """Text ending in sentence punctuation, so a voice pauses after it."""
    text = text.strip()
    if not text or text.rstrip(_CLOSERS).endswith(_SENTENCE_END):
        return text
    return text + ("。" if language == "zh" or _CJK_CHAR.match(text[-1]) else ".")


def bullet_text(display: str, language: str) -> str:
    """The first sentence of a paragraph, cut to fit one slide line or two."""
    sentences = split_sentences(display[:2_000], language)
    text = sentences[0] if sentences else display.strip()
    text = text.rstrip(":：,，;；")
    limit = MAX_BULLET_CHARS.get(language, 80)
    # Inline math ($...$) counts as it reads and is never cut (synthesis.frames.latex_text).
    if len(replace_inline_math(text)) <= limit:
        return text
    cut = cut_inline_math(text, limit - 1, space_after=None if language == "zh" else limit // 2)
    return cut.rstrip(" ,，;；:：") + "…"


def generic_narration(kind: str, language: str) -> Spoken:
    """What a code, formula or table scene says when no text narrates it (no source)."""
    return Spoken(GENERIC_NARRATION[kind][language], from_lesson=False)


def label_for(kind: str, language: str) -> str:
    english, chinese = DIV_LABELS.get(kind, (kind.replace("-", " ").capitalize(), kind))
    return chinese if language == "zh" else english


def parse_concepts(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in re.split(r"[,，;；]", value) if part.strip())


class AutoPlanner:
    """The automatic mapping: sections, visuals and divs to scenes."""

    def __init__(self, blocks: list[Block], *, language: str, title: str) -> None:
        self.blocks = blocks
        self.language = language
        self.drafts: list[SceneDraft] = []
        self.warnings: list[Message] = []
        self.frames = [_Frame("section", title, "core")]
        self.pending: list[_Piece] = []
        self.waiting: SceneDraft | None = None  # a visual still looking for narration
        self.last_visual: SceneDraft | None = None  # a visual the next one may merge into

    def plan(
        self, *, title_card: str | None, skip_index: int | None, title_in_lesson: bool = True
    ) -> list[SceneDraft]:
        """The drafts in order; title_in_lesson: whether lesson.md holds the title card's words."""
        if title_card:
            spoken = Spoken(end_sentence(title_card, self.language), from_lesson=title_in_lesson)
            self.drafts.append(SceneDraft("title", title_card, narration=[spoken]))
        for index, block in enumerate(self.blocks):
            if index != skip_index:
                self.block(block, index)
        self.flush()
        return self.drafts

    # -- blocks --------------------------------------------------------------

    def block(self, block: Block, index: int) -> None:
        if isinstance(block, Text):
            self.text(block, index)
        elif isinstance(block, VISUAL_BLOCKS):
            self.visual(block)
        elif isinstance(block, Heading):
            self.break_flow()
            self.heading(block)
        elif isinstance(block, DivOpen):
            if block.kind in DIV_LABELS:
                self.break_flow()
            self.open_div(block.kind)
        elif isinstance(block, DivClose) and len(self.frames) > 1:
            # Layout divs (columns, plain ::: blocks) do not interrupt the flow of prose.
            if self.frames[-1].kind != "div":
                self.break_flow()
            self.frames.pop()
        elif isinstance(block, Directive):
            self.directive(block)
        elif isinstance(block, Rule):
            self.break_flow()

    def break_flow(self) -> None:
        self.flush()
        self.waiting = None
        self.last_visual = None

    def heading(self, heading: Heading) -> None:
        frame = self.frames[-1]
        if frame.kind != "section" and not frame.heading:
            frame.heading = heading.display
            if heading.display.strip().lower() != frame.label.lower():
                if frame.kind in SPOKEN_LABEL_DIVS:
                    separator = "：" if self.language == "zh" else ": "
                    frame.title = f"{frame.label}{separator}{heading.display}"
                else:
                    frame.title = heading.display
            if frame.kind in SPOKEN_LABEL_DIVS:
                frame.intro = end_sentence(frame.title, self.language)
            return
        frame.title = heading.display
        if frame.kind == "section":
            frame.heading = heading.display
            recap = heading.display.strip().lower() in RECAP_HEADINGS
            frame.role = "recap" if recap else "core"
            frame.concepts = ()
            frame.intro = ""

    def open_div(self, kind: str) -> None:
        parent = self.frames[-1]
        if kind not in DIV_LABELS:
            # A plain div (or one for layout: columns, tabs) has no meaning of its own.
            self.frames.append(_Frame("div", parent.title, parent.role, parent.concepts))
            return
        label = label_for(kind, self.language)
        title = label
        if kind == "solution" and parent.kind in ("challenge", "exercise") and parent.heading:
            separator = "：" if self.language == "zh" else ": "
            title = f"{label}{separator}{parent.heading}"
        frame = _Frame(
            kind,
            title,
            DIV_ROLES.get(kind, parent.role),
            parent.concepts,
            label=label,
            intro=end_sentence(title, self.language) if kind in SPOKEN_LABEL_DIVS else "",
        )
        self.frames.append(frame)

    def directive(self, directive: Directive) -> None:
        frame = self.frames[-1]
        if directive.name == "concepts":
            frame.concepts = parse_concepts(directive.value)
        elif directive.name == "role":
            role = directive.value.strip().lower()
            if role in ROLES:
                frame.role = role
            else:
                self.warnings.append(
                    Message(
                        gettext_noop(
                            "unknown role '%(role)s' near paragraph %(paragraph)s; "
                            "choose one of %(roles)s"
                        ),
                        role=directive.value,
                        paragraph=directive.paragraph,
                        roles=", ".join(ROLES),
                    )
                )
        elif directive.name == "narration":
            self.warnings.append(
                Message(
                    gettext_noop(
                        "the narration comment near paragraph %(paragraph)s was ignored: "
                        "narration comments apply only when the lesson uses <!-- slide --> breaks"
                    ),
                    paragraph=directive.paragraph,
                )
            )

    def text(self, text: Text, index: int) -> None:
        pieces = self.pieces(text)
        self.last_visual = None
        waiting, self.waiting = self.waiting, None
        # A list item narrates a visual only when the visual sits inside that item.
        if waiting is not None and (not text.in_list or not text.shows_bullet):
            if not self.leads_in(text, index):
                self.add_piece(waiting, pieces.pop(0), with_bullet=False)
            else:
                # "That failed. Let's pull first:" -> the figure above gets the first
                # sentences, the code below the last one.
                sentences = split_sentences(text.speech, self.language)
                if len(sentences) >= 2 and len(pieces) == 1:
                    joiner = "" if self.language == "zh" else " "
                    head, tail = joiner.join(sentences[:-1]), sentences[-1]
                    piece = pieces[0]
                    head_piece = _Piece(head, "", piece.paragraph, piece.in_list)
                    self.add_piece(waiting, head_piece, with_bullet=False)
                    pieces = [_Piece(tail, piece.bullet, piece.paragraph, piece.in_list)]
        self.pending.extend(pieces)

    def leads_in(self, text: Text, index: int) -> bool:
        """Whether a paragraph introduces the visual after it ("...looks like this:")."""
        following = self.blocks[index + 1] if index + 1 < len(self.blocks) else None
        return isinstance(following, VISUAL_BLOCKS) or text.speech.endswith((":", "："))

    def visual(self, block: Code | Image | Math | Table) -> None:
        if not self.pending and self.merge(block):
            return
        lead = self.pending.pop() if self.pending and self.is_lead(self.pending[-1]) else None
        self.flush()
        draft = self.visual_draft(block)
        if lead is not None:
            self.add_piece(draft, lead, with_bullet=False)
        self.waiting = draft if lead is None else None
        self.last_visual = draft

    def is_lead(self, piece: _Piece) -> bool:
        """Prose right before a visual narrates it, except a plain list item."""
        return not piece.in_list or piece.speech.endswith((":", "："))

    def merge(self, block: Code | Image | Math | Table) -> bool:
        """Join code to the code just before (a command and its output), formulas likewise."""
        last = self.last_visual
        if last is None:
            return False
        if isinstance(block, Code) and last.kind == "code":
            lines = len(code_lines(last.code)) + block.code.count("\n") + 1
            if lines <= MAX_CODE_LINES:
                if block.is_output:
                    last.code = with_output(last.code, block.code)
                else:
                    last.code = f"{last.code}\n{block.code}"
                    if last.code_language == "text":
                        last.code_language = block.language
                return True
        if isinstance(block, Math) and last.math and len(last.math) < MAX_FORMULAS_PER_SLIDE:
            last.math.append(block.latex)
            return True
        return False

    # -- drafts --------------------------------------------------------------

    def new_draft(self, kind: str, title: str) -> SceneDraft:
        frame = self.frames[-1]
        draft = SceneDraft(kind, title, concepts=frame.concepts, role=frame.role)
        # The first scene of a challenge or solution says what it is.
        owner = next((f for f in reversed(self.frames) if f.kind != "div"), frame)
        if owner.intro:
            # "Challenge: Paper Writing." is the importer's label, not a sentence of the lesson.
            draft.narration.append(Spoken(owner.intro, from_lesson=False))
            owner.intro = ""
        self.drafts.append(draft)
        return draft

    def visual_draft(self, block: Code | Image | Math | Table) -> SceneDraft:
        title = self.frames[-1].title
        lang = self.language
        if isinstance(block, Image):
            draft = self.new_draft("image", title)
            draft.image = block
            describe_image(draft, block, lang)
        elif isinstance(block, Code):
            draft = self.new_draft("code", title)
            code = with_output("", block.code) if block.is_output else block.code
            draft.code = code_for_slide(code, draft.notes)
            draft.code_language = block.language
            draft.fallback = generic_narration("code", lang)
        elif isinstance(block, Math):
            draft = self.new_draft("text", title)
            draft.math.append(block.latex)
            draft.fallback = generic_narration("math", lang)
        else:
            draft = self.new_draft("text", title)
            draft.bullets.extend(table_bullets(block, lang))
            draft.fallback = generic_narration("table", lang)
        return draft

    def add_piece(self, draft: SceneDraft, piece: _Piece, *, with_bullet: bool) -> None:
        draft.narration.append(Spoken(end_sentence(piece.speech, self.language), piece.paragraph))
        draft.from_text = True
        if with_bullet and piece.bullet and len(draft.bullets) <= MAX_BULLETS:
            draft.bullets.append(piece.bullet)
            room = max(0, MAX_BULLETS - len(draft.bullets))
            draft.bullets.extend(piece.more_bullets[:room])
        if piece.note:
            draft.notes.append(piece.note)

    def flush(self) -> None:
        """Turn the pending prose into text slides of at most a minute each."""
        if not self.pending:
            return
        title = self.frames[-1].title
        for number, group in enumerate(pack(self.pending)):
            suffix = CONTINUED[self.language] if number else ""
            draft = self.new_draft("text", title + suffix)
            for piece in group:
                self.add_piece(draft, piece, with_bullet=True)
        self.pending = []

    def pieces(self, text: Text) -> list[_Piece]:
        """A paragraph as one piece, or several when it alone runs over a minute."""
        bullet = bullet_text(text.display, self.language) if text.shows_bullet else ""
        if speech_seconds(text.speech) <= MAX_SCENE_SPEECH_S:
            more = self.more_bullets(text.display, text.speech) if bullet else ()
            return [_Piece(text.speech, bullet, text.paragraph, text.in_list, text.note, more)]
        pieces: list[_Piece] = []
        for chunk in chunk_sentences(text.speech, self.language):
            chunk_bullet = bullet if not pieces else bullet_text(chunk, self.language)
            note = text.note if not pieces else None
            more = self.more_bullets(chunk, chunk) if chunk_bullet else ()
            pieces.append(_Piece(chunk, chunk_bullet, text.paragraph, text.in_list, note, more))
        return pieces

    def more_bullets(self, display: str, speech: str) -> tuple[str, ...]:
        """Bullets after a paragraph's first one: one per SPEECH_PER_BULLET_S of its narration,
        each the sentence the voice reaches then, so a long paragraph does not hold one line
        on screen while the narration reads on."""
        if speech_seconds(speech) < 1.5 * SPEECH_PER_BULLET_S:
            return ()
        sentences = split_sentences(display[:5_000], self.language)
        bullets: list[str] = []
        clock_s = 0.0
        for sentence in sentences:
            if clock_s >= SPEECH_PER_BULLET_S:
                bullets.append(bullet_text(sentence, self.language))
                clock_s = 0.0
            clock_s += speech_seconds(replace_inline_math(sentence))
        return tuple(bullets)


def pack(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Group pieces into balanced slides of at most a minute and about MAX_BULLETS bullets."""
    total_s = sum(speech_seconds(p.speech) for p in pieces)
    target_s = total_s / max(1, math.ceil(total_s / MAX_SCENE_SPEECH_S))
    bullets_left = sum(1 for p in pieces if p.bullet)
    groups: list[list[_Piece]] = [[]]
    current_s = 0.0
    bullets = 0
    for piece in pieces:
        seconds = speech_seconds(piece.speech)
        if groups[-1]:
            too_long = current_s + seconds > MAX_SCENE_SPEECH_S
            # One bullet over the limit beats a slide holding a single last bullet.
            too_many = bool(piece.bullet) and bullets >= MAX_BULLETS and bullets_left > 1
            if too_long or too_many or current_s >= target_s * 0.95:
                groups.append([])
                current_s, bullets = 0.0, 0
        groups[-1].append(piece)
        current_s += seconds
        if piece.bullet:
            bullets += 1
            bullets_left -= 1
    return [group for group in groups if group]


def chunk_sentences(speech: str, language: str) -> list[str]:
    """Sentences grouped into balanced chunks of at most MAX_SCENE_SPEECH_S each."""
    joiner = "" if language == "zh" else " "
    sentences = split_sentences(speech, language)
    total_s = sum(speech_seconds(sentence) for sentence in sentences)
    target_s = total_s / max(1, math.ceil(total_s / MAX_SCENE_SPEECH_S))
    chunks: list[list[str]] = [[]]
    current_s = 0.0
    for sentence in sentences:
        seconds = speech_seconds(sentence)
        if chunks[-1] and (current_s + seconds > MAX_SCENE_SPEECH_S or current_s >= target_s):
            chunks.append([])
            current_s = 0.0
        chunks[-1].append(sentence)
        current_s += seconds
    return [joiner.join(chunk) for chunk in chunks if chunk]


def describe_image(draft: SceneDraft, image: Image, language: str) -> None:
    """What an image scene says when no paragraph narrates it: its description, else its title."""
    description = image.alt or image.caption
    if description:
        draft.fallback = Spoken(end_sentence(description, language), image.paragraph)
        draft.fallback_is_text = True
        draft.fallback_note = Message(
            gettext_noop(
                "no text narrates image '%(image)s'; reading its description (alt text) instead"
            ),
            image=image.src,
        )
    else:
        # The slide title stands in for missing words: the importer's choice, not a sentence.
        draft.fallback = Spoken(end_sentence(draft.title, language), from_lesson=False)
        draft.fallback_note = Message(
            gettext_noop(
                "no text narrates image '%(image)s' and it has no description (alt text); "
                "reading the slide title instead"
            ),
            image=image.src,
        )


def code_for_slide(code: str, notes: list[Message]) -> str:
    """The code as shown: at most MAX_CODE_LINES lines (a note says when some were cut)."""
    lines = code.split("\n")
    if len(lines) <= MAX_CODE_LINES:
        return code
    notes.append(
        Message(
            gettext_noop("the code block has %(lines)s lines; the slide shows the first %(shown)s"),
            lines=len(lines),
            shown=MAX_CODE_LINES - 1,
        )
    )
    return "\n".join([*lines[: MAX_CODE_LINES - 1], "…"])


def table_bullets(table: Table, language: str) -> list[str]:
    limit = MAX_BULLET_CHARS.get(language, 80) * 2
    # Carpentries tables pad headers with dots ("action . . . ."); they are not content.
    cells = [[cell.strip(" .") for cell in row] for row in table.rows]
    rows = [" · ".join(cell for cell in row if cell) for row in cells]
    rows = [row if len(row) <= limit else row[: limit - 1] + "…" for row in rows if row]
    if len(rows) > MAX_BULLETS:
        rows = [*rows[: MAX_BULLETS - 1], "…"]
    return rows


def without_instructor_notes(blocks: list[Block]) -> list[Block]:
    """The blocks outside divs meant for instructors only (SKIPPED_DIVS)."""
    kept: list[Block] = []
    hiding: list[bool] = []  # one entry per open div: whether it hides what it holds
    for block in blocks:
        if isinstance(block, DivOpen):
            hiding.append(block.kind in SKIPPED_DIVS or any(hiding))
            hidden = hiding[-1]
        elif isinstance(block, DivClose):
            hidden = hiding.pop() if hiding else False
        else:
            hidden = any(hiding)
        if not hidden:
            kept.append(block)
    return kept


def plan_explicit(
    blocks: list[Block], *, language: str, title: str
) -> tuple[list[SceneDraft], list[str]]:
    """One scene per chunk between <!-- slide --> breaks, exactly as the teacher wrote it."""
    chunks: list[list[Block]] = [[]]
    for block in blocks:
        if isinstance(block, Directive) and block.name == "slide":
            chunks.append([])
        else:
            chunks[-1].append(block)
    drafts: list[SceneDraft] = []
    warnings: list[str] = []
    current_title = title
    for chunk in chunks:
        draft = chunk_draft(chunk, language=language, title=current_title, warnings=warnings)
        if draft is not None:
            drafts.append(draft)
            current_title = draft.title.removesuffix(CONTINUED[language])
    return drafts, warnings


def chunk_draft(
    chunk: list[Block], *, language: str, title: str, warnings: list[Message]
) -> SceneDraft | None:
    headings = [b for b in chunk if isinstance(b, Heading)]
    texts = [b for b in chunk if isinstance(b, Text)]
    images = [b for b in chunk if isinstance(b, Image)]
    codes = [b for b in chunk if isinstance(b, Code)]
    formulas = [b for b in chunk if isinstance(b, Math)]
    tables = [b for b in chunk if isinstance(b, Table)]
    directives = [b for b in chunk if isinstance(b, Directive)]
    narration = " ".join(d.value for d in directives if d.name == "narration" and d.value)
    if not (headings or texts or images or codes or formulas or tables or narration):
        return None
    title = headings[0].display if headings else title
    if images:
        draft = SceneDraft("image", title, image=images[0])
        describe_image(draft, images[0], language)
    elif codes:
        draft = SceneDraft("code", title, code_language=codes[0].language)
        draft.code = code_for_slide("\n".join(c.code for c in codes), draft.notes)
        draft.fallback = generic_narration("code", language)
    elif headings and not (texts or formulas or tables):
        draft = SceneDraft(
            "title", title, fallback=Spoken(end_sentence(headings[0].speech, language))
        )
        draft.subtitle = headings[1].display if len(headings) > 1 else ""
    else:
        draft = SceneDraft("text", title)
        draft.math = [f.latex for f in formulas[:MAX_FORMULAS_PER_SLIDE]]
        for text in texts:
            if text.shows_bullet and len(draft.bullets) < MAX_BULLETS:
                draft.bullets.append(bullet_text(text.display, language))
        for table in tables:
            draft.bullets.extend(table_bullets(table, language))
        draft.bullets = draft.bullets[:MAX_BULLETS]
        kind = "math" if formulas else "table" if tables else "code"
        draft.fallback = generic_narration(kind, language)
    if draft.kind != "title" and not draft.fallback_note:
        draft.fallback_note = Message(
            gettext_noop(
                "no narration on this slide; add text or a <!-- narration: ... --> comment"
            )
        )
    unshown = len(images) + len(codes) - 1
    if images and unshown > 0:
        draft.notes.append(
            Message(
                gettext_noop(
                    "%(count)s more image(s) or code block(s) on this slide are not shown; "
                    "give each its own <!-- slide -->"
                ),
                count=unshown,
            )
        )
    for text in texts:
        if text.note:
            draft.notes.append(text.note)
    if narration:
        # The comment is in lesson.md but in no paragraph.
        draft.narration = [Spoken(narration)]
        draft.from_text = True
    elif texts:
        draft.narration = [Spoken(end_sentence(t.speech, language), t.paragraph) for t in texts]
        draft.from_text = True
    for directive in directives:
        if directive.name == "concepts":
            draft.concepts = parse_concepts(directive.value)
        elif directive.name == "role":
            role = directive.value.strip().lower()
            if role in ROLES:
                draft.role = role
            else:
                draft.notes.append(
                    Message(
                        gettext_noop("unknown role '%(role)s'; choose one of %(roles)s"),
                        role=directive.value,
                        roles=", ".join(ROLES),
                    )
                )
    seconds = speech_seconds(join_words([part.text for part in draft.narration]))
    if seconds > MAX_SCENE_SPEECH_S:
        draft.notes.append(
            Message(
                gettext_noop(
                    "the narration is about %(seconds)s s long; consider splitting this slide "
                    "to keep scenes under a minute"
                ),
                seconds=f"{seconds:.0f}",
            )
        )
    return draft
