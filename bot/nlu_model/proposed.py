"""Editors' proposed examples into nlu/<lang>/proposed.yml (Rasa's format), for review
before the next training. Run by `helpline nlu export-examples`, never by a web request."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.kb import LANGUAGES
from bot.store.proposals import ExampleProposals, Proposal

HEADER = "# Example messages proposed by editors in the console; review before training.\n"


def write_proposed(proposals: list[Proposal], root: Path) -> int:
    """Appends the proposals to nlu/<lang>/proposed.yml; a text already there is not
    added twice. Returns how many proposals were handled."""
    for lang in LANGUAGES:
        mine = [p for p in proposals if p.lang == lang]
        if not mine:
            continue
        path = root / "nlu" / lang / "proposed.yml"
        data = yaml.safe_load(path.read_text("utf-8")) if path.exists() else None
        data = data or {"version": "3.1", "nlu": []}
        by_intent = {block["intent"]: block for block in data["nlu"]}
        for proposal in mine:
            block = by_intent.setdefault(
                proposal.intent, {"intent": proposal.intent, "examples": ""}
            )
            if block not in data["nlu"]:
                data["nlu"].append(block)
            existing = {line[2:] for line in block["examples"].splitlines()}
            if proposal.text not in existing:
                block["examples"] += f"- {proposal.text}\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return len(proposals)


async def export_proposed(store: ExampleProposals, root: Path) -> int:
    """The stored proposals into the files; those written leave the store."""
    proposals = await store.all()
    written = write_proposed(proposals, root)
    await store.drop_first(len(proposals))
    return written
