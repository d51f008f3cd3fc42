"""Speak inline LaTeX: `$\\hat{y}^{(i)}$` becomes "y hat i", `$\\frac{1}{2}$` "1 over 2".

Narration must not read LaTeX symbol by symbol. Short expressions (a variable, a
subscript, `a + b`) get a spoken form; anything longer than MAX_SPOKEN_TERMS terms, or
with environments and line breaks, is spoken as "this expression" / "这个式子" — the
formula itself is on screen when it matters (display math is shown on a slide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# More terms than this and the spoken form stops helping a listener.
MAX_SPOKEN_TERMS = 14
_MAX_SOURCE_CHARS = 300
_MAX_DEPTH = 20

COMPLEX_EXPRESSION = {"en": "this expression", "zh": "这个式子"}
_ELLIPSIS = re.compile(r"\s*[,，]?\s*…\s*[,，]?\s*")

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|[{}^_]|\d+(?:\.\d+)?|\s+|.", re.DOTALL)

_GREEK_ZH = {
    "alpha": "阿尔法", "beta": "贝塔", "gamma": "伽马", "delta": "德尔塔",
    "epsilon": "艾普西隆", "varepsilon": "艾普西隆", "zeta": "泽塔", "eta": "伊塔",
    "theta": "西塔", "iota": "约塔", "kappa": "卡帕", "lambda": "兰姆达", "mu": "缪",
    "nu": "纽", "xi": "克西", "pi": "派", "rho": "柔", "sigma": "西格玛", "tau": "陶",
    "upsilon": "宇普西隆", "phi": "斐", "varphi": "斐", "chi": "卡伊", "psi": "普西",
    "omega": "欧米伽",
}  # fmt: skip

# Symbols with a spoken name: (English, Chinese). An empty name is silent.
_SPOKEN = {
    "+": ("plus", "加"), "-": ("minus", "减"), "=": ("equals", "等于"),
    "<": ("is less than", "小于"),
    ">": ("is greater than", "大于"), "/": ("over", "除以"), "*": ("times", "乘"),
    "!": ("factorial", "的阶乘"), "'": ("prime", "撇"), ",": (",", "，"),
    "cdot": ("times", "乘"), "times": ("times", "乘"), "div": ("divided by", "除以"),
    "pm": ("plus or minus", "正负"), "leq": ("is at most", "小于等于"),
    "le": ("is at most", "小于等于"),
    "geq": ("is at least", "大于等于"), "ge": ("is at least", "大于等于"),
    "neq": ("is not equal to", "不等于"), "ne": ("is not equal to", "不等于"),
    "approx": ("is approximately", "约等于"), "equiv": ("is equivalent to", "等价于"),
    "in": ("in", "属于"), "notin": ("not in", "不属于"), "sim": ("follows", "服从"),
    "to": ("to", "趋于"), "rightarrow": ("to", "趋于"), "leftarrow": ("becomes", "更新为"),
    "gets": ("becomes", "更新为"), "infty": ("infinity", "无穷大"), "partial": ("partial", "偏"),
    "nabla": ("gradient", "梯度"), "sum": ("the sum", "求和"), "prod": ("the product", "连乘"),
    "log": ("log", "log"), "ln": ("log", "log"), "exp": ("exp", "exp"), "max": ("max", "max"),
    "min": ("min", "min"), "argmax": ("argmax", "argmax"), "argmin": ("argmin", "argmin"),
    "ldots": ("…", "…"), "dots": ("…", "…"), "cdots": ("…", "…"), "mid": ("given", "给定"),
    "top": ("transpose", "的转置"), "prime": ("prime", "撇"), "ell": ("l", "l"),
    "sin": ("sine", "sin"), "cos": ("cosine", "cos"), "tan": ("tangent", "tan"),
}  # fmt: skip
_SILENT = {
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "quad",
    "qquad", ",", ";", ":", "!", " ", "limits", "displaystyle", "textstyle", "|", "Vert",
    "vert", "{", "}", "lvert", "rvert", "langle", "rangle", "lfloor", "rfloor",
}  # fmt: skip
_SILENT_CHARS = set("()[]|&~")
# Commands whose argument is read as a word ("\mathrm{area}" -> "area").
_WORD_COMMANDS = {"mathrm", "text", "textrm", "textit", "textbf", "mbox", "operatorname"}
# Commands whose argument is read as math with the style dropped.
_STYLE_COMMANDS = {
    "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathscr", "mathfrak", "boldsymbol",
    "bm", "mathbb", "underline", "overline",
}  # fmt: skip
_ACCENTS = {"hat": "hat", "widehat": "hat", "bar": "bar", "tilde": "tilde", "widetilde": "tilde",
            "vec": "vector", "dot": "dot"}  # fmt: skip


class _TooComplex(Exception):
    """The expression is too long or too deep to speak usefully."""


@dataclass
class _Spoken:
    words: list[str]
    terms: int
    # \mathbb{R}: its superscript is a dimension ("R n by d"), not a power.
    is_space: bool = False


def latex_to_speech(latex: str, language: str) -> str:
    """A speakable form of an inline LaTeX expression, or "this expression" if it is too long."""
    lang = "zh" if language == "zh" else "en"
    source = latex.strip()
    if not source:
        return ""
    try:
        if len(source) > _MAX_SOURCE_CHARS or "\\begin" in source or "\\\\" in source:
            raise _TooComplex
        spoken = _Reader(source, lang).sequence(depth=0)
        if spoken.terms > MAX_SPOKEN_TERMS:
            raise _TooComplex
    except _TooComplex:
        return COMPLEX_EXPRESSION[lang]
    text = join_words(spoken.words)
    # "x_1, \\ldots, x_d" reads "x 1 up to x d".
    return _ELLIPSIS.sub(" up to " if lang == "en" else "到", text).strip()


def join_words(words: list[str]) -> str:
    """Join words with spaces, except next to Chinese text or before punctuation."""
    text = ""
    for word in (w for w in words if w):
        if text and not (_is_cjk(text[-1]) or _is_cjk(word[0]) or word[0] in ",.;:!?，。"):
            text += " "
        text += word
    return text


def _is_cjk(char: str) -> bool:
    return "\u2e80" <= char <= "\u9fff" or "\uf900" <= char <= "\uffef"


class _Reader:
    """A small recursive reader over LaTeX tokens that produces spoken words."""

    def __init__(self, source: str, lang: str) -> None:
        self.tokens = [t for t in _TOKEN.findall(source) if not t.isspace()]
        self.position = 0
        self.lang = lang

    def peek(self) -> str:
        return self.tokens[self.position] if self.position < len(self.tokens) else ""

    def take(self) -> str:
        token = self.peek()
        self.position += 1
        return token

    def say(self, key: str) -> str:
        english, chinese = _SPOKEN[key]
        return chinese if self.lang == "zh" else english

    def sequence(self, *, depth: int) -> _Spoken:
        """Read until a closing brace or the end."""
        if depth > _MAX_DEPTH:
            raise _TooComplex
        words: list[str] = []
        terms = 0
        while self.peek() and self.peek() != "}":
            atom = self.atom(depth=depth)
            atom = self.scripts(atom, depth=depth)
            words.extend(atom.words)
            terms += atom.terms
        return _Spoken(_merge_letters(words), terms)

    def argument(self, *, depth: int) -> _Spoken:
        """One argument: a braced group or a single token."""
        if self.peek() == "{":
            self.take()
            spoken = self.sequence(depth=depth + 1)
            self.take()  # the closing brace (or nothing at the end)
            return spoken
        if not self.peek():
            return _Spoken([], 0)
        return self.atom(depth=depth + 1)

    def raw_argument(self) -> str:
        """A braced group as plain text, for \\mathrm{area} and \\text{...}."""
        if self.peek() != "{":
            return self.take().lstrip("\\")
        self.take()
        parts: list[str] = []
        level = 1
        while self.peek():
            token = self.take()
            if token == "{":
                level += 1
            elif token == "}":
                level -= 1
                if level == 0:
                    break
            else:
                parts.append(token.lstrip("\\") if token.startswith("\\") else token)
        return "".join(parts).strip()

    def atom(self, *, depth: int) -> _Spoken:
        token = self.take()
        if token == "{":
            spoken = self.sequence(depth=depth + 1)
            self.take()
            return spoken
        if token.startswith("\\"):
            return self.command(token[1:], depth=depth)
        if token in _SILENT_CHARS:
            return _Spoken([], 0)
        if token in _SPOKEN:
            return _Spoken([self.say(token)], 1)
        return _Spoken([token], 1)

    def command(self, name: str, *, depth: int) -> _Spoken:
        star = name.endswith("*")
        name = name.rstrip("*")
        if name in _WORD_COMMANDS:
            word = self.raw_argument()
            return _Spoken([word], 1) if word else _Spoken([], 0)
        if name in _STYLE_COMMANDS:
            inner = self.argument(depth=depth)
            inner.is_space = name == "mathbb"
            return inner
        if name in _ACCENTS:
            inner = self.argument(depth=depth)
            return _Spoken([*inner.words, _ACCENTS[name]], inner.terms + 1)
        if name == "frac" or name == "dfrac" or name == "tfrac":
            top = self.argument(depth=depth)
            bottom = self.argument(depth=depth)
            if self.lang == "zh":
                return _Spoken([*bottom.words, "分之", *top.words], top.terms + bottom.terms + 1)
            return _Spoken([*top.words, "over", *bottom.words], top.terms + bottom.terms + 1)
        if name == "sqrt":
            if self.peek() == "[":  # \sqrt[n]{x}: the root's degree is not spoken
                while self.peek() and self.take() != "]":
                    pass
            inner = self.argument(depth=depth)
            lead = ["根号"] if self.lang == "zh" else ["the square root of"]
            return _Spoken([*lead, *inner.words], inner.terms + 1)
        if name in _SILENT or (star and not name):
            return _Spoken([], 0)
        if name in _GREEK_ZH or name.lower() in _GREEK_ZH:
            word = _GREEK_ZH.get(name.lower(), name) if self.lang == "zh" else name.lower()
            return _Spoken([word], 1)
        if name in _SPOKEN:
            return _Spoken([self.say(name)], 1)
        if name.startswith(("begin", "end")):
            raise _TooComplex
        # An unknown command (\operatorname-like names, \mathop...) is read by its name.
        return _Spoken([name], 1) if len(name) <= 8 else _Spoken([], 0)

    def scripts(self, base: _Spoken, *, depth: int) -> _Spoken:
        """Attach any ^ and _ that follow an atom."""
        words, terms = list(base.words), base.terms
        while self.peek() in ("^", "_"):
            kind = self.take()
            start = self.position
            script = self.argument(depth=depth)
            raw = "".join(self.tokens[start : self.position]).strip("{}")
            if kind == "_":
                words.extend(script.words)
            elif base.is_space:
                by = "乘" if self.lang == "zh" else "by"
                words.extend(by if word == self.say("times") else word for word in script.words)
            else:
                words.extend(self.superscript(raw, script))
            terms += script.terms
        return _Spoken(words, terms)

    def superscript(self, raw: str, script: _Spoken) -> list[str]:
        zh = self.lang == "zh"
        if raw == "2":
            return ["的平方"] if zh else ["squared"]
        if raw == "3":
            return ["的立方"] if zh else ["cubed"]
        if raw in ("\\top", "T", "\\intercal"):
            return ["的转置"] if zh else ["transpose"]
        if raw == "-1":
            return ["的逆"] if zh else ["inverse"]
        if raw in ("*", "\\ast", "\\star"):
            return ["星"] if zh else ["star"]
        if raw in ("\\prime", "'"):
            return ["撇"] if zh else ["prime"]
        if raw.startswith("(") and raw.endswith(")"):
            # x^{(i)} indexes the i-th example; read it like a subscript.
            return script.words
        if zh:
            return ["的", *script.words, "次方"]
        return ["to the power", *script.words]


def _merge_letters(words: list[str]) -> list[str]:
    # Digits read as numbers ("10000"), not digit by digit; nothing else is merged.
    merged: list[str] = []
    for word in words:
        if merged and word.isdigit() and merged[-1].isdigit():
            merged[-1] += word
        else:
            merged.append(word)
    return merged
