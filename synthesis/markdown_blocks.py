"""Parse prepared lesson Markdown into a flat list of blocks the scene planner understands.

markdown-it-py does the parsing (CommonMark + tables, front matter, $-math, fenced divs);
this module walks its tokens once and keeps, for each block, both what is *said*
(speech: links by their text, inline math spoken, URLs dropped) and what is *shown*
(display: a paragraph's inline math kept as `$LaTeX$` for the slide to typeset, a literal
dollar escaped `\\$` where it would read as math; headings, tables and captions show inline
math as Unicode).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from synthesis.frames.latex_text import cut_inline_math, inline_math_markup, latex_to_unicode
from synthesis.markdown_math import latex_to_speech
from synthesis.markdown_source import D2L_FRAMEWORK
from synthesis.messages import Message, gettext_noop

# Longest paragraph we narrate; the rest is cut (with a warning) so a pasted book stays usable.
MAX_PARAGRAPH_CHARS = 10_000

_CJK = "\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
# Only real punctuation: the space before `.git` or `./run` stays.
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+(?=[,.;:!?](?:\s|$)|[，。；：！？、）)\]」』”])")
_SPACE_AFTER_OPENING = re.compile(r"(?<=[（(\[「『“])\s+")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|（\s*）")
_UNRESOLVED_REFERENCE_LINK = re.compile(r"\[([^\[\]\n]{1,200})\]\[[^\[\]\n]{0,200}\]")
_BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>()（）]+|\bwww\.[^\s<>()（）]+")
_DIRECTIVE = re.compile(
    r"<!--\s*(slide|narration|concepts|role)\b\s*:?(.*?)-->", re.DOTALL | re.IGNORECASE
)
_SYMBOL_RUN = re.compile(r"([^\w\s.…。])\1{2,}")
_GRID_TABLE_RULE = re.compile(r"^\+[-=+:]+\+\s*$")
_PLAIN_LANGUAGES = {"text", "txt"}
# Stands for the n-th inline formula while a paragraph's display text is tidied.
_FORMULA_MARK = re.compile("\ue000(\\d+)\ue001")
# Fence languages that mark what a command printed (Carpentries: ```output, ```error).
OUTPUT_LANGUAGES = {"output", "outputs", "error", "warning", "console-output", "stdout", "stderr"}


@dataclass(frozen=True)
class Text:
    """A paragraph or list item: what is said, the bullet shown for it, where it came from."""

    speech: str
    display: str
    paragraph: int
    in_list: bool = False
    # Empty for nested list items and follow-on paragraphs: they are said, not shown.
    shows_bullet: bool = True
    note: Message | None = None  # a problem to report, naming the paragraph


@dataclass(frozen=True)
class Heading:
    level: int
    display: str
    speech: str


@dataclass(frozen=True)
class Code:
    code: str
    language: str
    # A fenced block marked as what a command printed (```output, ```error...).
    is_output: bool = False


@dataclass(frozen=True)
class Image:
    src: str
    alt: str
    caption: str
    paragraph: int


@dataclass(frozen=True)
class Math:
    latex: str


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class DivOpen:
    kind: str


@dataclass(frozen=True)
class DivClose:
    kind: str


@dataclass(frozen=True)
class Directive:
    """A teacher's HTML comment: <!-- slide -->, <!-- narration: ... -->, concepts, role."""

    name: str
    value: str
    paragraph: int


@dataclass(frozen=True)
class Rule:
    """A thematic break (---): ends the current text slide."""


Block = Text | Heading | Code | Image | Math | Table | DivOpen | DivClose | Directive | Rule
VISUAL_BLOCKS = (Code, Image, Math, Table)


def front_matter_text(markdown: str) -> tuple[str | None, str]:
    """The YAML front matter (or None) and the body after it."""
    tokens = _FRONT_MATTER_PARSER.parse(markdown) if markdown.startswith("---") else []
    if tokens and tokens[0].type == "front_matter" and tokens[0].map:
        end_line = tokens[0].map[1]
        body = "".join(markdown.splitlines(keepends=True)[end_line:])
        return tokens[0].content, body
    return None, markdown


@dataclass(frozen=True)
class ParagraphNumbering:
    """Numbers paragraphs as the lesson file has them, though the parser reads prepared text.

    prepare_source drops lines (d2l labels, other frameworks' tabs), so counting the
    prepared text's paragraphs would drift from the file a teacher opens.
    """

    source_lines: tuple[int, ...]  # for each prepared line, its line in the lesson body
    paragraph_starts: tuple[int, ...]  # lines of the body where its paragraphs start

    @classmethod
    def of(cls, body: str, source_lines: list[int]) -> ParagraphNumbering:
        starts = []
        for token in PARSER.parse(body):
            if token.map is None:
                continue
            if token.type == "paragraph_open" or (
                token.type == "html_block" and _html_is_paragraph(token.content)
            ):
                starts.append(token.map[0])
        return cls(tuple(source_lines), tuple(starts))

    def number(self, prepared_line: int) -> int:
        """The number (from 1) of the body paragraph that holds this prepared line."""
        if not self.source_lines:
            return 1
        line = self.source_lines[min(prepared_line, len(self.source_lines) - 1)]
        return max(1, bisect_right(self.paragraph_starts, line))


def parse_blocks(
    markdown: str, language: str, *, numbering: ParagraphNumbering | None = None
) -> list[Block]:
    """The blocks of a prepared lesson body, in reading order.

    Paragraphs are numbered by `numbering` when given, else counted in `markdown` itself.
    """
    return _BlockWalker(language, numbering).walk(PARSER.parse(markdown))


class _BlockWalker:
    def __init__(self, language: str, numbering: ParagraphNumbering | None) -> None:
        self.language = language
        self.numbering = numbering
        self.blocks: list[Block] = []
        self.paragraph = 0
        self.list_depth = 0
        self.item_paragraphs = 0  # paragraphs seen so far in the current list item

    def walk(self, tokens: list[Token]) -> list[Block]:
        index = 0
        while index < len(tokens):
            index = self.block(tokens, index)
        return self.blocks

    def block(self, tokens: list[Token], index: int) -> int:
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            inline = tokens[index + 1]
            speech, display, _ = self.inline(inline.children or [])
            if display:
                self.blocks.append(Heading(int(token.tag[1]), display, speech))
            return index + 3
        if kind == "paragraph_open":
            self.paragraph_block(token, tokens[index + 1])
            return index + 3
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.list_depth -= 1
        elif kind == "list_item_open":
            self.item_paragraphs = 0
        elif kind in ("fence", "code_block"):
            self.code_block(token)
        elif kind in ("math_block", "math_block_label"):
            if token.content.strip():
                self.blocks.append(Math(token.content.strip()))
        elif kind == "table_open":
            return self.table(tokens, index)
        elif kind == "html_block":
            self.html_block(token)
        elif kind == "container_div_open":
            self.blocks.append(DivOpen(token.info.strip().lower() or "div"))
        elif kind == "container_div_close":
            self.blocks.append(DivClose(""))
        elif kind == "hr":
            self.blocks.append(Rule())
        return index + 1

    def next_paragraph(self, token: Token) -> None:
        if self.numbering is None or token.map is None:
            self.paragraph += 1
        else:
            self.paragraph = self.numbering.number(token.map[0])

    def paragraph_block(self, token: Token, inline: Token) -> None:
        self.next_paragraph(token)
        raw_lines = inline.content.splitlines()
        if _is_grid_table(raw_lines):
            # A Pandoc grid table: keep its ASCII layout on a code slide, never read it.
            self.blocks.append(Code(inline.content, "text"))
            return
        speech, display, images = self.inline(inline.children or [], math_markup=True)
        self.add_text(speech, display)
        for src, alt, caption in images:
            self.blocks.append(Image(src, alt, caption, self.paragraph))

    def add_text(self, speech: str, display: str) -> None:
        first_in_item = self.item_paragraphs == 0
        if self.list_depth:
            self.item_paragraphs += 1
        if not speech:
            return
        note = None
        if len(speech) > MAX_PARAGRAPH_CHARS:
            note = Message(
                gettext_noop(
                    "paragraph %(paragraph)s of the lesson is %(chars)s characters long; "
                    "only the first %(limit)s are narrated"
                ),
                paragraph=self.paragraph,
                chars=f"{len(speech):,}",
                limit=f"{MAX_PARAGRAPH_CHARS:,}",
            )
            speech = _cut(speech, MAX_PARAGRAPH_CHARS)
            display = cut_inline_math(display, 2_000)
        shows_bullet = self.list_depth <= 1 and (not self.list_depth or first_in_item)
        self.blocks.append(
            Text(speech, display, self.paragraph, self.list_depth > 0, shows_bullet, note)
        )

    def code_block(self, token: Token) -> None:
        language, code = _code_language(token.info), token.content
        is_output = _fence_language(token.info) in OUTPUT_LANGUAGES
        first_line = code.lstrip().split("\n", 1)[0].strip()
        if first_line.startswith("#@tab"):
            frameworks = {name.strip().lower() for name in first_line[5:].split(",")}
            if D2L_FRAMEWORK not in frameworks and "all" not in frameworks:
                return
            code = code.lstrip().split("\n", 1)[1] if "\n" in code.lstrip() else ""
        elif ".input" in token.info and first_line != "":
            # d2l: a `{.python .input}` cell without #@tab is the MXNet version.
            return
        code = re.sub(r"[ \t]*#@save[ \t]*$", "", code, flags=re.MULTILINE).rstrip()
        if code.strip():
            self.blocks.append(Code(code, language, is_output))

    def table(self, tokens: list[Token], index: int) -> int:
        rows: list[tuple[str, ...]] = []
        row: list[str] = []
        while index < len(tokens) and tokens[index].type != "table_close":
            token = tokens[index]
            if token.type == "tr_open":
                row = []
            elif token.type == "inline":
                row.append(self.inline(token.children or [])[1])
            elif token.type == "tr_close" and any(row):
                rows.append(tuple(row))
            index += 1
        if rows:
            self.blocks.append(Table(tuple(rows)))
        return index + 1

    def html_block(self, token: Token) -> None:
        html = token.content
        for match in _DIRECTIVE.finditer(html):
            name, value = match.group(1).lower(), match.group(2).strip()
            self.blocks.append(Directive(name, value, self.paragraph))
        reader = _read_html(html)
        text = _tidy(" ".join(reader.text))
        # An HTML block with words or a picture is a paragraph of the lesson.
        if text or reader.images:
            self.next_paragraph(token)
        if text:
            self.add_text(_speakable(text), text)
        for code in reader.code:
            self.blocks.append(Code(code, "text"))
        for src, alt in reader.images:
            self.blocks.append(Image(src, alt, "", self.paragraph))

    def inline(
        self, children: list[Token], *, math_markup: bool = False
    ) -> tuple[str, str, list[tuple[str, str, str]]]:
        """(speech, display, images) of a run of inline tokens.

        math_markup: the display keeps inline math as $LaTeX$ (a bullet's), else as Unicode.
        """
        speech: list[str] = []
        display: list[str] = []
        formulas: list[str] = []
        images: list[tuple[str, str, str]] = []
        skip_link = False
        for child in children:
            kind = child.type
            if skip_link:
                skip_link = kind != "link_close"
                continue
            if kind in ("text", "code_inline"):
                speech.append(child.content)
                display.append(child.content)
            elif kind in ("softbreak", "hardbreak"):
                speech.append("\n")
                display.append("\n")
            elif kind in ("math_inline", "math_inline_double"):
                speech.append(latex_to_speech(child.content, self.language))
                if math_markup:
                    display.append(f"\ue000{len(formulas)}\ue001")
                    formulas.append(child.content)
                else:
                    display.append(latex_to_unicode(child.content))
            elif kind == "image":
                caption = self.inline(child.children or [])[1]
                alt = str(child.attrs.get("alt") or "").strip() or caption
                images.append((str(child.attrs.get("src", "")), alt, caption))
            elif kind == "link_open" and child.markup in ("autolink", "linkify"):
                skip_link = True  # a bare URL is neither said nor worth a bullet
            elif kind == "html_inline":
                for match in _DIRECTIVE.finditer(child.content):
                    name, value = match.group(1).lower(), match.group(2).strip()
                    self.blocks.append(Directive(name, value, self.paragraph))
        shown = _tidy("".join(display))
        if formulas:
            shown = _with_formulas(shown, formulas)
        if _only_links(children):
            # A paragraph that is nothing but a link ("[Discussions](...)") is navigation.
            return "", "", images
        return _speakable(_tidy("".join(speech))), shown, images


class _HtmlReader(HTMLParser):
    """Text, <pre> blocks and <img> tags of an HTML fragment; scripts and styles skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.code: list[str] = []
        self.images: list[tuple[str, str]] = []
        self._skip = 0
        self._pre: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "pre":
            self._pre = []
        elif tag == "img":
            values = dict(attrs)
            if values.get("src"):
                self.images.append((values["src"] or "", (values.get("alt") or "").strip()))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag == "pre" and self._pre is not None:
            code = "".join(self._pre).strip("\n")
            if code.strip():
                self.code.append(code)
            self._pre = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre is not None:
            self._pre.append(data)
        else:
            self.text.append(data)


def _read_html(html: str) -> _HtmlReader:
    reader = _HtmlReader()
    reader.feed(html)
    reader.close()
    return reader


def _html_is_paragraph(html: str) -> bool:
    """The rule html_block follows: an HTML block with words or a picture is a paragraph."""
    reader = _read_html(html)
    return bool(_tidy(" ".join(reader.text)) or reader.images)


def _image_attributes_rule(state: StateInline, silent: bool) -> bool:
    """Consume a Pandoc attribute block right after an image and store it on the image token."""
    if state.src[state.pos] != "{" or not state.tokens or state.tokens[-1].type != "image":
        return False
    end = _attribute_block_end(state.src, state.pos)
    if end is None:
        return False
    attributes = parse_attributes(state.src[state.pos + 1 : end])
    if not silent:
        image = state.tokens[-1]
        for key, value in attributes.items():
            image.attrSet(key, value)
    state.pos = end + 1
    return True


_ATTRIBUTE = re.compile(
    r"""\s*(?:(?P<id>\#[\w:-]+)|(?P<cls>\.[\w:-]+)|(?P<key>[\w:-]+)\s*=\s*"""
    r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<bare>[^\s"'}]+)))"""
)


def parse_attributes(text: str) -> dict[str, str]:
    """Pandoc/kramdown attributes: #id, .class, key=value with "double", 'single' or bare values."""
    attributes: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _ATTRIBUTE.match(text, position)
        if not match or match.end() == position:
            break
        if match.group("key"):
            value = next(v for v in match.group("dq", "sq", "bare", "key") if v is not None)
            attributes[match.group("key")] = re.sub(r"\\(.)", r"\1", value)
        position = match.end()
    return attributes


def _attribute_block_end(src: str, start: int) -> int | None:
    """Index of the '}' closing the attribute block at start, honouring quotes and escapes."""
    quote = ""
    escaped = False
    for index in range(start + 1, min(len(src), start + 2_000)):
        char = src[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "}":
            return index
    return None


def _is_grid_table(lines: list[str]) -> bool:
    return (
        len(lines) >= 2
        and all(line.startswith(("+", "|")) for line in lines)
        and any(_GRID_TABLE_RULE.match(line) for line in lines)
    )


def _only_links(children: list[Token]) -> bool:
    depth = 0
    saw_link = False
    for child in children:
        if child.type == "link_open":
            depth += 1
            saw_link = True
        elif child.type == "link_close":
            depth -= 1
        elif depth == 0 and not _is_blank(child):
            return False
    return saw_link


def _is_blank(token: Token) -> bool:
    if token.type in ("softbreak", "hardbreak"):
        return True
    return token.type == "text" and not token.content.strip()


def _code_language(info: str) -> str:
    language = _fence_language(info)
    plain = language in OUTPUT_LANGUAGES or language in _PLAIN_LANGUAGES or not language
    return "text" if plain else language


def _fence_language(info: str) -> str:
    """The language a fence names, lower case ("" for none)."""
    info = info.strip()
    if info.startswith("{"):
        classes = re.findall(r"\.([\w+#-]+)", info)
        language = classes[0] if classes else ""
    else:
        language = info.split()[0] if info else ""
    return language.lower()


def _tidy(text: str) -> str:
    """One line of readable text: CJK line breaks joined, spaces collapsed, leftovers removed."""
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = re.sub(r"\s+", " ", text)
    text = _UNRESOLVED_REFERENCE_LINK.sub(r"\1", text)
    text = _SPACE_BEFORE_PUNCTUATION.sub("", text)
    text = _SPACE_AFTER_OPENING.sub("", text)
    text = _EMPTY_BRACKETS.sub("", text)
    return text.strip()


def _with_formulas(text: str, formulas: list[str]) -> str:
    """Tidied text with its formula marks replaced by the formulas, as slide markup."""
    runs: list[tuple[str, str]] = []
    position = 0
    for match in _FORMULA_MARK.finditer(text):
        runs.append(("text", text[position : match.start()]))
        runs.append(("math", formulas[int(match.group(1))]))
        position = match.end()
    runs.append(("text", text[position:]))
    return inline_math_markup(runs)


def _speakable(text: str) -> str:
    """Text for a voice: no bare URLs, no runs of symbols ("=======", "<<<<<<<")."""
    if "://" in text or "www." in text:
        text = _tidy(_BARE_URL.sub("", text))
    if _SYMBOL_RUN.search(text):
        text = _tidy(_SYMBOL_RUN.sub(" ", text))
    return text


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending at a sentence end when one is near."""
    head = text[:limit]
    end = max(head.rfind(mark) for mark in (". ", "。", "! ", "? ", "！", "？"))
    return head[: end + 1].strip() if end > limit // 2 else head.strip()


def _new_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    parser.use(front_matter_plugin)
    # Pandoc's rules: "$5 and $10" is money, not math.
    parser.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    # markdown_source gives every Pandoc div a canonical fence; accept any class name.
    parser.use(container_plugin, name="div", marker=":", validate=lambda params, *_: True)
    # Pandoc image attributes ({alt='...' width="40%"}) allow single quotes, which
    # mdit-py-plugins' attrs plugin does not, so they get a rule of their own.
    parser.inline.ruler.push("pandoc_image_attributes", _image_attributes_rule)
    return parser


PARSER = _new_parser()
# Finds only the front matter, so reading it does not parse the whole lesson twice.
_FRONT_MATTER_PARSER = MarkdownIt("zero").use(front_matter_plugin)
