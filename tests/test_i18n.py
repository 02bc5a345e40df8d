"""The catalogues hold what the code says to people, and only that.

A worker reads Indonesian unless they chose English, so a string the code marks for
translation but the Indonesian catalogue lacks reaches them in English. Both checks read
the source as `make i18n-extract` does, not the committed .pot, which can lag behind.
"""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _extracted() -> set[str]:
    """The message ids `make i18n-extract` would write, read from the source now."""
    with (ROOT / "babel.cfg").open() as cfg:
        # Babel's own reader of babel.cfg, as pybabel uses it; it has no annotations.
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    ids: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_string_the_code_marks_has_an_indonesian_translation() -> None:
    with (ROOT / "locales/id/LC_MESSAGES/messages.po").open("rb") as po:
        catalogue = read_po(po)
    missing = []
    for msgid in sorted(_extracted()):
        message = catalogue.get(msgid)
        strings = message.string if message is not None else ""
        translated = all(strings) if isinstance(strings, tuple) else bool(strings)
        if message is None or message.fuzzy or not translated:
            missing.append(msgid)
    assert not missing, f"run `make i18n-update` and translate: {missing[:10]}"


def test_no_translation_call_hides_a_literal_inside_an_expression() -> None:
    """`_(LABELS[data["key"]])` makes Babel extract "key" as a message for translators.

    The call translates the looked-up label at run time, which is right; the literal
    subscript is what Babel sees. Look the label up first, then pass the name to `_`.
    A literal marked itself (`_(LABELS.get(kind, N_("file")))`) is a message and is fine.
    """
    offenders = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("flows/**/*.py")]):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in ("_", "N_") or not node.args:
                continue
            argument = node.args[0]
            if isinstance(argument, ast.Constant):
                continue
            marked = {
                id(inner.args[0])
                for inner in ast.walk(argument)
                if isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name)
                and inner.func.id in ("_", "N_")
                and inner.args
            }
            literals = [
                n.value
                for n in ast.walk(argument)
                if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in marked
            ]
            if literals:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                offenders.append(f"{where} extracts {literals[0]!r}")
    assert not offenders, offenders
