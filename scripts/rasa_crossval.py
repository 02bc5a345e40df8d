"""Cross-validation of the NLU training data, run with Rasa's own Python (.venv-rasa).

`helpline nlu evaluate` runs this script. It trains one model per fold on the other folds,
parses every held-out example through the trained model, and writes one JSON line per
example with Rasa's full answer (the whole intent ranking), so the bot can apply its
safety layer to exactly what the Rasa server would return. Language is taken from the
folder an example comes from (nlu/id, nlu/en).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.core.agent import Agent
from rasa.model_training import train_nlu
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.training_data import TrainingData


def _load(nlu_dir: Path) -> tuple[list[tuple[str, object]], TrainingData]:
    """(language, example) pairs from nlu/<lang>/, and the rest (synonyms, lookups)."""
    examples: list[tuple[str, object]] = []
    for lang_dir in sorted(p for p in nlu_dir.iterdir() if p.is_dir()):
        data = load_data(str(lang_dir))
        examples.extend((lang_dir.name, ex) for ex in data.intent_examples)
    extras = [p for p in nlu_dir.glob("*.yml")]
    extra = TrainingData()
    for path in extras:
        extra = extra.merge(load_data(str(path)))
    return examples, extra


def _folds(examples: list[tuple[str, object]], k: int, seed: int) -> list[list[int]]:
    """Stratified by intent and language: each fold gets its share of every group."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, (lang, ex) in enumerate(examples):
        groups[(ex.get("intent"), lang)].append(index)  # type: ignore[attr-defined]
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        for i, index in enumerate(members):
            folds[(i + offset) % k].append(index)
        offset += len(members)
    return folds


async def _parse_all(agent: Agent, texts: list[str]) -> list[dict]:
    return [await agent.parse_message(text) for text in texts]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--nlu", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", required=True, help="JSON lines file to write")
    args = parser.parse_args()

    examples, extra = _load(Path(args.nlu))
    folds = _folds(examples, args.folds, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as sink, tempfile.TemporaryDirectory() as tmp:
        for fold_no, held_out in enumerate(folds, start=1):
            held = set(held_out)
            train = TrainingData(
                training_examples=[ex for i, (_, ex) in enumerate(examples) if i not in held],
                entity_synonyms=extra.entity_synonyms,
                lookup_tables=extra.lookup_tables,
                regex_features=extra.regex_features,
            )
            train_file = Path(tmp) / f"train-{fold_no}.yml"
            RasaYAMLWriter().dump(train_file, train)
            print(
                f"fold {fold_no}/{args.folds}: training on {len(examples) - len(held)} "
                f"examples, testing on {len(held)}",
                file=sys.stderr,
                flush=True,
            )
            started = time.monotonic()
            model = train_nlu(args.config, str(train_file), tmp, fixed_model_name=f"f{fold_no}")
            seconds = time.monotonic() - started
            if model is None:
                print(f"fold {fold_no}: training failed", file=sys.stderr)
                return 1
            agent = Agent.load(model)
            texts = [examples[i][1].get("text") for i in held_out]  # type: ignore[attr-defined]
            answers = asyncio.run(_parse_all(agent, texts))
            for index, answer in zip(held_out, answers, strict=True):
                lang, ex = examples[index]
                record = {
                    "fold": fold_no,
                    "language": lang,
                    "text": ex.get("text"),  # type: ignore[attr-defined]
                    "intent": ex.get("intent"),  # type: ignore[attr-defined]
                    "parse": answer,
                    "train_seconds": round(seconds, 1),
                }
                sink.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            sink.flush()
            print(f"fold {fold_no}: trained in {seconds:.0f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
