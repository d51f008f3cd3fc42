"""LaTeX math to readable Unicode text, for slides (no TeX engine or matplotlib needed).

Covers what lessons commonly use: \\mathbf and friends, \\frac as a/b, ^ and _ as Unicode
super/subscripts where they exist (else ^(...) and _...), Greek letters, \\sum, \\top,
\\hat, \\cdot, \\in, \\mathbb{R}. Unknown commands degrade to their name, never to an error.
"""

from __future__ import annotations

import re
import unicodedata

_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW*′ᵀ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ*′ᵀ",
        strict=True,
    )
)
_SUBSCRIPTS = dict(
    zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True)
)

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ",
    "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "ϕ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}  # fmt: skip

_SYMBOLS = {
    **_GREEK,
    "sum": " ∑", "prod": " ∏", "int": " ∫", "oint": " ∮", "cdot": "·", "times": "×", "div": "÷",
    "pm": "±", "mp": "∓", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆",
    "cup": "∪", "cap": "∩", "top": "ᵀ", "intercal": "ᵀ", "prime": "′", "leq": "≤", "le": "≤",
    "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "equiv": "≡", "sim": "~",
    "propto": "∝", "infty": "∞", "partial": "∂", "nabla": "∇", "leftarrow": "←",
    "rightarrow": "→", "to": "→", "gets": "←", "Leftarrow": "⇐", "Rightarrow": "⇒",
    "leftrightarrow": "↔", "Leftrightarrow": "⇔", "mapsto": "↦", "forall": "∀",
    "exists": "∃", "neg": "¬", "land": "∧", "lor": "∨", "ldots": "…", "dots": "…",
    "cdots": "⋯", "vdots": "⋮", "ast": "∗", "star": "⋆", "circ": "∘", "odot": "⊙",
    "otimes": "⊗", "oplus": "⊕", "mid": "|", "vert": "|", "Vert": "‖", "|": "‖",
    "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "ell": "ℓ", "hbar": "ℏ", "emptyset": "∅", "varnothing": "∅", "degree": "°",
    "exp": "exp", "log": "log", "ln": "ln", "sin": "sin", "cos": "cos", "tan": "tan",
    "max": "max", "min": "min", "arg": "arg", "lim": "lim", "det": "det", "sup": "sup",
    "inf": "inf", "Pr": "Pr",
    # Spacing commands: one space at most, collapsed later.
    ",": " ", ";": " ", ":": " ", " ": " ", "quad": " ", "qquad": " ", "!": "",
    "{": "{", "}": "}", "%": "%", "$": "$", "&": "&", "_": "_", "#": "#",
}  # fmt: skip

_DOUBLE_STRUCK = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "P": "ℙ", "E": "𝔼"}
# Commands whose argument is shown as plain text (the style is lost, the letters kept).
_STYLE_COMMANDS = {
    "mathbf", "mathrm", "mathit", "mathsf", "mathtt", "mathcal", "mathscr", "mathfrak",
    "boldsymbol", "bm", "text", "textbf", "textit", "textrm", "mbox", "operatorname",
    "displaystyle", "textstyle", "underline", "overline", "mathop",
}  # fmt: skip
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "tilde": "\u0303",
            "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308"}  # fmt: skip
_IGNORED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
            "limits", "nolimits", "nonumber", "notag", "label", "tag"}  # fmt: skip
_RELATIONS = "=←→≤≥≈≠∈≡⇒⇔↦∝"


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0

    def peek(self) -> str:
        return self.source[self.position] if self.position < len(self.source) else ""

    def take(self) -> str:
        char = self.peek()
        self.position += 1
        return char

    def skip_spaces(self) -> None:
        while self.peek().isspace():
            self.position += 1

    def command_name(self) -> str:
        """The name after a backslash: letters, or one other character."""
        start = self.position
        while self.peek().isalpha():
            self.position += 1
        if self.position == start and self.peek():
            self.position += 1
        if self.peek() == "*":  # \operatorname*{argmin}
            self.position += 1
            return self.source[start : self.position - 1]
        return self.source[start : self.position]

    def group(self) -> str:
        """Text up to the closing brace of the group just opened."""
        return self.sequence(closing="}")

    def argument(self) -> str:
        """One argument: a {group}, a command, or a single character."""
        self.skip_spaces()
        char = self.take()
        if char == "{":
            return self.group()
        if char == "\\":
            return self.command(self.command_name())
        return char

    def optional_argument(self) -> None:
        self.skip_spaces()
        if self.peek() == "[":
            while self.peek() and self.take() != "]":
                pass

    def sequence(self, closing: str = "") -> str:
        parts: list[str] = []
        while self.peek():
            char = self.take()
            if closing and char == closing:
                break
            if char == "{":
                parts.append(self.group())
            elif char == "\\":
                parts.append(self.command(self.command_name()))
            elif char in "^_":
                parts.append(_script(self.argument(), superscript=char == "^"))
            elif char == "&":
                continue
            elif char == "~":
                parts.append(" ")
            elif char == "'":
                parts.append("′")
            else:
                parts.append(char)
        return "".join(parts)

    def command(self, name: str) -> str:
        if name == "\\":
            return "\n"
        if name in ("frac", "dfrac", "tfrac"):
            numerator, denominator = self.argument(), self.argument()
            return f"{_operand(numerator)}/{_operand(denominator)}"
        if name == "sqrt":
            self.optional_argument()
            return "√" + _operand(self.argument())
        if name == "mathbb":
            return "".join(_DOUBLE_STRUCK.get(char, char) for char in self.argument())
        if name in _ACCENTS:
            return _accent(self.argument(), _ACCENTS[name])
        if name in _STYLE_COMMANDS:
            return self.argument() if name not in ("displaystyle", "textstyle") else ""
        if name in ("begin", "end"):
            self.argument()  # the environment name
            return ""
        if name in _IGNORED:
            if name in ("label", "tag"):
                self.argument()
            elif name in ("left", "right"):
                self.skip_spaces()
                delimiter = self.argument()
                return "" if delimiter == "." else delimiter
            return ""
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        return name


_OPENING, _CLOSING = "([{⟨⌊⌈", ")]}⟩⌋⌉"
_BREAKS_OPERAND = set(" +-−=/·×,<>≤≥∈←→")


def _is_atomic(text: str) -> bool:
    """Whether text reads as one operand: no space or operator outside brackets or |..|."""
    depth = 0
    inside_bars = False
    for char in text:
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth -= 1
        elif char == "|":
            inside_bars = not inside_bars
        elif char in _BREAKS_OPERAND and depth == 0 and not inside_bars:
            return False
    return True


def _operand(text: str) -> str:
    """text, in parentheses when it is more than one operand, so a/b stays unambiguous."""
    text = text.strip()
    return text if _is_atomic(text) else f"({text})"


def _accent(text: str, mark: str) -> str:
    """Put a combining accent on the last character, precomposed where Unicode has it."""
    if not text:
        return mark
    return text[:-1] + unicodedata.normalize("NFC", text[-1] + mark)


def _script(text: str, *, superscript: bool) -> str:
    """Unicode super/subscript characters when every character has one, else ^(..) / _.."""
    table = _SUPERSCRIPTS if superscript else _SUBSCRIPTS
    stripped = text.replace(" ", "")
    letters = sum(char.isalpha() for char in stripped)
    # Tiny raised words (wₐᵣₑₐ) are hard to read: more than two letters stay on the line.
    if stripped and letters <= 2 and all(char in table for char in stripped):
        return "".join(table[char] for char in stripped)
    return ("^" if superscript else "_") + _operand(text.strip())


def latex_to_unicode(source: str) -> str:
    """A readable one- or multi-line Unicode rendering of a LaTeX math expression."""
    text = _Parser(source.strip().strip("$")).sequence()
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"\s+", " ", line).strip()
        # Relations get one space each side, whatever the source spacing was.
        line = re.sub(rf"\s*([{_RELATIONS}])\s*", r" \1 ", line).strip()
        line = re.sub(r"([(\[{]) ", r"\1", line)  # "( ∑" from the space before big operators
        if line:
            lines.append(line)
    return "\n".join(lines)


# Slide text (a bullet, a title) marks inline math as $...$ with Pandoc's rule: no space just
# inside the dollars and no digit just after the closing one, so "costs $5 and $6" stays
# prose; a dollar written \$ is always a literal dollar (docs/markdown-mapping.md).
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?=[^\s$])([^$\n]+?)(?<=[^\s\\])\$(?!\d)")
_ESCAPED_DOLLAR = "\\$"

# A run of slide text: ("text", words) or ("math", LaTeX).
InlineRun = tuple[str, str]


def inline_math_runs(text: str) -> list[InlineRun]:
    """Slide text split into text runs (\\$ read as $) and inline formulas ($...$)."""
    runs: list[InlineRun] = []
    position = 0
    for match in _INLINE_MATH.finditer(text):
        _append_text(runs, text[position : match.start()].replace(_ESCAPED_DOLLAR, "$"))
        runs.append(("math", match.group(1)))
        position = match.end()
    _append_text(runs, text[position:].replace(_ESCAPED_DOLLAR, "$"))
    return runs


def _append_text(runs: list[InlineRun], text: str) -> None:
    """Add text to runs, joined to a text run before it."""
    if not text:
        return
    if runs and runs[-1][0] == "text":
        runs[-1] = ("text", runs[-1][1] + text)
    else:
        runs.append(("text", text))


def has_inline_math(text: str) -> bool:
    """Whether slide text holds an inline formula ($...$)."""
    return any(kind == "math" for kind, _ in inline_math_runs(text))


def _shown(run: InlineRun) -> str:
    kind, value = run
    return " ".join(latex_to_unicode(value).split()) if kind == "math" else value


def replace_inline_math(text: str) -> str:
    """Slide text as it reads: each $...$ as its Unicode rendering, \\$ as $."""
    return "".join(_shown(run) for run in inline_math_runs(text))


def inline_math_markup(runs: list[InlineRun]) -> str:
    """Slide text that inline_math_runs reads back as these runs.

    Dollars in the text are escaped (\\$) only where the plain text would read as math, so
    a teacher editing the slide sees "costs $5" as written; a formula the markup cannot
    hold ($ inside it, two formulas touching) becomes its Unicode text.
    """
    wanted: list[InlineRun] = []
    for kind, value in runs:
        if kind == "text":
            _append_text(wanted, value)
            continue
        value = " ".join(value.split())
        if value and latex_to_unicode(value).strip():
            wanted.append(("math", value))
    plain = _markup(wanted, escape=False)
    if inline_math_runs(plain) == wanted:
        return plain
    # Keep each formula that still reads back (with every later one as text), in order.
    kept = list(wanted)
    for index, (kind, _value) in enumerate(wanted):
        if kind != "math":
            continue
        trial = _joined([*kept[: index + 1], *(("text", _shown(run)) for run in kept[index + 1 :])])
        if inline_math_runs(_markup(trial, escape=True)) != trial:
            kept[index] = ("text", _shown(kept[index]))
    return _markup(_joined(kept), escape=True)


def _joined(runs: list[InlineRun]) -> list[InlineRun]:
    joined: list[InlineRun] = []
    for kind, value in runs:
        if kind == "text":
            _append_text(joined, value)
        else:
            joined.append((kind, value))
    return joined


def _markup(runs: list[InlineRun], *, escape: bool) -> str:
    return "".join(
        f"${value}$" if kind == "math" else value.replace("$", _ESCAPED_DOLLAR) if escape else value
        for kind, value in runs
    )


def cut_inline_math(text: str, limit: int, *, space_after: int | None = None) -> str:
    """The start of slide text whose readable form has at most `limit` characters, a formula
    kept whole or left out; space_after: end instead at the text's last space at or past
    that many characters, when there is one (a bullet cut at a word)."""
    kept: list[InlineRun] = []
    used = 0
    for kind, value in inline_math_runs(text):
        shown = _shown((kind, value))
        if used + len(shown) > limit:
            if kind == "text":
                kept.append((kind, value[: limit - used]))
            break
        kept.append((kind, value))
        used += len(shown)
    if space_after is not None:
        position = 0
        last_space: tuple[int, int] | None = None  # (run index, index in the run)
        for index, run in enumerate(kept):
            space = run[1].rfind(" ") if run[0] == "text" else -1
            if space >= 0 and position + space >= space_after:
                last_space = (index, space)
            position += len(_shown(run))
        if last_space is not None:
            index, space = last_space
            kept = [*kept[:index], ("text", kept[index][1][:space])]
    return inline_math_markup(kept)
