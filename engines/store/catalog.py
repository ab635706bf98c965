"""Every model Transfigure trained that this installation has, with its data card.

Transfigure ships models it trained (``resources/models``) and the user trains or
imports more (their models folder); each is a safetensors file of a ``ModelKind``. The
kinds are named once, in the operations table (``Operation.models``), so a new kind is
listed here, by ``transfigure weights list`` and in the About box without touching
either front end. A model's data card is the Markdown file beside it (``<name>.md``):
where its training data came from and under which terms. Users who publish their edits
need to see those terms, so the card is read here and summed up (``DataCard``).

Cheap: only file headers and the cards are read; the kinds' modules import no torch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engines import operations
from engines.store.folders import shipped_models_dir
from engines.store.tensors import read_header
from engines.store.trained import (
    STATE_SUFFIX,
    SUFFIX,
    ModelKind,
    folders,
    is_model,
    is_user_model,
)

CARD_SUFFIX = ".md"
UNKNOWN = "unknown"  # the kind of a shipped file that no kind in the table claims


# ---------------------------------------------------------------------------- kinds


def model_kinds() -> list[ModelKind]:
    """Every kind of model Transfigure trains, in the operations table's order."""
    targets = dict.fromkeys(t for op in operations.OPERATIONS for t in op.models)
    return [operations.load(target) for target in targets]


# ------------------------------------------------------------------------ data cards


@dataclass(frozen=True)
class DataCard:
    """A model's data card, and what a user must see of it (plain text, no Markdown).

    ``title``: its first heading. ``summary``: its first paragraph. ``data``: the row
    of its first table that says what it was trained on ("Data"). ``sources``: the
    repositories its training-data section takes photos from. ``terms``: the sentence of
    its licence section that says what the data's terms allow (commercial use first).
    """

    path: Path
    text: str
    title: str = ""
    summary: str = ""
    data: str = ""
    sources: tuple[str, ...] = ()
    terms: str = ""


def card_file(model: Path) -> Path:
    """Where the data card of the model file ``model`` is (it may not exist)."""
    return model.with_name(model.name.removesuffix(SUFFIX) + CARD_SUFFIX)


def read_card(path: Path) -> DataCard | None:
    """The data card at ``path``; None when there is none (or it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = text.splitlines()
    sections = _sections(lines)
    title = next((plain(line[2:]) for line in lines if line.startswith("# ")), "")
    intro = sections.get("", [])
    summary = next((plain(p) for p in _paragraphs(intro)
                    if not p.startswith(("|", "```"))), "")
    fields = _first_table(lines)
    data = next((plain(v) for k, v in fields.items()
                 if k.lower() in ("data", "training data", "trained on")), "")
    return DataCard(
        path=path, text=text, title=title, summary=summary, data=data,
        sources=_sources(_section(sections, "data")), terms=_terms(
            _section(sections, "licen", "license", "terms")),
    )


def plain(markdown: str) -> str:
    """One line of Markdown as plain text: no emphasis, code marks or link targets."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = text.replace("**", "").replace("`", "")
    text = re.sub(r"(?<![\w*])\*(\S(?:.*?\S)?)\*(?![\w*])", r"\1", text)
    return " ".join(text.split())


def _sections(lines: list[str]) -> dict[str, list[str]]:
    """Heading (lower case, "" for the text before the first ``##``) → its lines."""
    found: dict[str, list[str]] = {"": []}
    current = ""
    for line in lines:
        if line.startswith("## "):
            current = line[3:].strip().lower()
            found.setdefault(current, [])
        elif not line.startswith("# "):
            found[current].append(line)
    return found


def _section(sections: Mapping[str, list[str]], *words: str) -> list[str]:
    """The lines of the first section whose heading holds one of ``words``."""
    return next((body for head, body in sections.items()
                 if head and any(w in head for w in words)), [])


def _paragraphs(lines: list[str]) -> list[str]:
    """Paragraphs and list items, each joined into one line; tables stay one per row."""
    found: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            found.append(" ".join(current))
            current.clear()

    for raw in lines:
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith(("|", "#", "```")):
            flush()
            found.append(line)
        elif re.match(r"([-*+]|\d+\.)\s", line):
            flush()
            current.append(re.sub(r"^([-*+]|\d+\.)\s+", "", line))
        else:
            current.append(line)
    flush()
    return found


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _is_rule(row: str) -> bool:
    return all(set(c) <= set(":- ") for c in _cells(row))


def _first_table(lines: list[str]) -> dict[str, str]:
    """The first table's rows as first cell (plain) → second cell (Markdown)."""
    rows: dict[str, str] = {}
    for line in lines:
        if line.startswith("|"):
            cells = _cells(line)
            if len(cells) >= 2 and not _is_rule(line):
                rows.setdefault(plain(cells[0]), cells[1])
        elif rows:
            break
    return rows


def _tables(lines: list[str]) -> list[list[list[str]]]:
    """Every table of ``lines``: its rows (header first), each a list of cells."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*lines, ""]:
        if line.startswith("|"):
            if not _is_rule(line):
                current.append(_cells(line))
        elif current:
            found.append(current)
            current = []
    return found


REPOSITORY = r"([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)"


def _sources(lines: list[str]) -> tuple[str, ...]:
    """The repositories a training-data section names: the "repository" column of its
    tables, else those its first paragraph names with a commit (``owner/name @`` or
    ``owner/name at commit``). Paragraphs after the first list what was held out."""
    found: list[str] = []
    for table in _tables(lines):
        header = [plain(c).lower() for c in table[0]]
        column = next((i for i, h in enumerate(header) if "repositor" in h), None)
        if column is None:
            continue
        for row in table[1:]:
            if column < len(row):
                for part in row[column].split(";"):
                    found += re.findall(REPOSITORY + r"`?\s*@", part.replace("`", ""))[:1]
    if not found:
        prose = [p for p in _paragraphs(lines) if not p.startswith(("|", "#", "```"))]
        if prose:
            found = re.findall(REPOSITORY + r"\s+(?:@|at commit)", prose[0].replace("`", ""))
    return tuple(dict.fromkeys(found))


def _terms(lines: list[str]) -> str:
    """The licence section's sentence about what the data's terms allow: the first that
    speaks of commercial use, else the first with bold text, else the first."""
    sentences: list[tuple[str, bool]] = []
    for paragraph in _paragraphs(lines):
        if paragraph.startswith(("|", "#", "```")):
            continue
        text = paragraph
        while True:  # asides in parentheses (sources, quotes) make the sentence long
            shorter = re.sub(r"\s*\([^()]*\)", "", text)
            if shorter == text:
                break
            text = shorter
        for sentence in re.split(r"(?<=[.!?])\s+(?=[*`\"'A-Z])", text):
            if sentence.strip():
                sentences.append((plain(sentence), "**" in sentence))
    for wanted in (lambda s, bold: "commercial" in s.lower(), lambda s, bold: bold,
                   lambda s, bold: True):
        chosen = next((s for s, bold in sentences if wanted(s, bold)), None)
        if chosen:
            return chosen
    return ""


# ---------------------------------------------------------------------------- models


@dataclass(frozen=True)
class TrainedModel:
    """One model file Transfigure trained (or the user did), as its header describes it.

    ``kind``: the kind's noun ("translation"). ``shipped``: in the shipped models folder,
    else the user's own. ``hidden``: a shipped model the user's model of the same name
    replaces. ``steps``: training steps (all stages), ``stages``: per stage where the
    file says; ``date``: when it was written; ``data``: the metadata's line about its
    training data. ``card``: its data card, None when there is none at ``card_path``.
    """

    name: str
    kind: str
    path: Path
    size: int
    shipped: bool
    card_path: Path
    card: DataCard | None = None
    hidden: bool = False
    steps: int | None = None
    stages: dict[str, int] = field(default_factory=dict)
    date: str = ""
    data: str = ""

    @property
    def where(self) -> str:
        """"shipped" or "yours" (a shipped model the user's replaces says so)."""
        if not self.shipped:
            return "yours"
        return "shipped (replaced by yours)" if self.hidden else "shipped"


def trained_models() -> list[TrainedModel]:
    """Every model file of every kind, the user's and the shipped ones, by kind then
    name (a user's model before the shipped one it replaces). A shipped file that no kind
    claims is listed too, as the format its header names, so its card is never hidden."""
    found: list[TrainedModel] = []
    claimed: set[Path] = set()
    shipped_dir = shipped_models_dir()
    for kind in model_kinds():
        mine: list[TrainedModel] = []
        seen: set[str] = set()
        for folder in folders(kind):  # the user's folder first: its models win
            for path in _model_files(folder):
                if path.resolve() in claimed or not is_model(kind, path):
                    continue  # (a folder variable may point at the shipped folder)
                claimed.add(path.resolve())
                shipped = (folder == shipped_dir and not is_user_model(kind, path))
                mine.append(_describe(path, kind.noun, shipped, hidden=path.stem in seen))
                seen.add(path.stem)
        found += sorted(mine, key=lambda m: (m.name, m.hidden))
    for path in _model_files(shipped_dir):
        if path.resolve() not in claimed:
            try:
                fmt = read_header(path).get("format") or UNKNOWN
            except Exception:
                fmt = UNKNOWN
            found.append(_describe(path, fmt, shipped=True, hidden=False))
    return found


def shipped_models() -> list[TrainedModel]:
    """The models Transfigure ships (those the user replaced included)."""
    return [m for m in trained_models() if m.shipped]


def find_model(name: str) -> TrainedModel:
    """The model ``name`` names (the one in use when the user's replaces a shipped one);
    ``LookupError`` with a sentence that lists the names there are."""
    models = trained_models()
    match = next((m for m in models if m.name == name and not m.hidden), None)
    if match is None:
        match = next((m for m in models if m.name == name), None)
    if match is None:
        known = ", ".join(sorted({m.name for m in models})) or "none"
        raise LookupError(f"No model trained by Transfigure is named '{name}' (known: "
                          f"{known}).")
    return match


def _model_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob(f"*{SUFFIX}"))
            if not p.name.endswith(STATE_SUFFIX) and p.is_file()]


def _describe(path: Path, kind: str, shipped: bool, hidden: bool) -> TrainedModel:
    try:
        meta = read_header(path)
    except Exception:
        meta = {}
    steps, stages = training_steps(meta)
    card = card_file(path)
    return TrainedModel(
        name=path.stem, kind=kind, path=path, size=path.stat().st_size, shipped=shipped,
        card_path=card, card=read_card(card), hidden=hidden, steps=steps, stages=stages,
        date=meta.get("date", ""), data=meta.get("data", ""),
    )


def training_steps(meta: Mapping[str, str]) -> tuple[int | None, dict[str, int]]:
    """(all steps, steps per stage) from the metadata's ``iterations``: one number
    (harmonization) or one per stage (translation, inpainting); (None, {}) without."""
    raw = meta.get("iterations", meta.get("steps"))
    if raw is None:
        return None, {}
    try:
        value = json.loads(raw)
    except ValueError:
        return None, {}
    if isinstance(value, bool):
        return None, {}
    if isinstance(value, int):
        return value, {}
    if isinstance(value, dict):
        stages = {str(k): int(v) for k, v in value.items()
                  if isinstance(v, int | float) and not isinstance(v, bool)}
        return (sum(stages.values()) if stages else None), stages
    return None, {}
