"""Reading nlu/ without Rasa, for the tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NLU = ROOT / "nlu"
LANGUAGES = ("id", "en")
_ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)|\[([^\]]+)\]\{[^}]*\}")


@dataclass(frozen=True)
class Example:
    language: str
    intent: str
    text: str  # annotations removed
    raw: str
    file: str


def plain(raw: str) -> str:
    return _ANNOTATION.sub(lambda m: m.group(1) or m.group(3), raw)


def key(text: str) -> str:
    return " ".join(text.lower().split())


def load_examples() -> list[Example]:
    examples = []
    for language in LANGUAGES:
        for path in sorted((NLU / language).glob("*.yml")):
            data = yaml.safe_load(path.read_text("utf-8"))
            for block in data.get("nlu") or []:
                if "intent" not in block:
                    continue
                for line in block["examples"].splitlines():
                    line = line.strip()
                    if not line:
                        continue
                    assert line.startswith("- "), f"{path}: {line!r}"
                    raw = line[2:].strip()
                    examples.append(Example(language, block["intent"], plain(raw), raw, path.name))
    return examples
