"""`helpline nlu evaluate`: cross-validation, held-out check, training time, parse latency.

What is scored is the final routing decision, safety layer included: the cross-validation
predictions are Rasa's full answers, passed through the same ``interpret`` the live
client uses.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from bot.net import free_port
from bot.nlu.client import Classification, NLUClient, interpret
from bot.nlu.safety import CrisisLexicon, SafetyPolicy
from bot.nlu.taxonomy import ALL_INTENTS, Category, category_of
from bot.nlu_model import metrics
from bot.nlu_model.rasa_env import RasaProject, RasaSetupError, rasa_server

CATEGORIES = [c.value for c in Category]
TARGETS = {
    "emergency_recall": 0.97,
    "false_alarm_rate": 0.05,
    "category_accuracy": 0.90,
    "intent_macro_f1": 0.85,
    "train_seconds": 300.0,
    "parse_p50_ms": 20.0,
}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cross_validate(project: RasaProject, folds: int, out: Path) -> list[dict[str, Any]]:
    script = project.root / "scripts" / "rasa_crossval.py"
    cmd = [
        str(project.rasa_python),
        str(script),
        "--config",
        str(project.config),
        "--nlu",
        str(project.nlu_dir),
        "--folds",
        str(folds),
        "--out",
        str(out),
    ]
    _say(f"==> {folds}-fold cross-validation (one training per fold)")
    result = subprocess.run(cmd, env=project.rasa_env(), cwd=project.root, check=False)
    if result.returncode != 0:
        raise RasaSetupError(f"cross-validation failed (exit {result.returncode})")
    with out.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def score(records: list[dict[str, Any]], classified: list[Classification]) -> dict[str, Any]:
    """Intent scores of the model, category and emergency scores of the final decision."""
    true_intents = [r["intent"] for r in records]
    model_intents = [c.ranking[0][0] if c.ranking else "out_of_scope" for c in classified]
    intent_scores = metrics.per_label_scores(true_intents, model_intents, ALL_INTENTS)
    true_cats = [category_of(i).value for i in true_intents]
    final_cats = [c.category for c in classified]
    emergency = metrics.emergency_score(
        [t == Category.EMERGENCY.value for t in true_cats], [c.emergency for c in classified]
    )
    return {
        "examples": len(records),
        "intent_macro_f1": metrics.macro_f1(intent_scores),
        "intent_scores": [asdict(s) for s in intent_scores],
        "category_accuracy": metrics.accuracy(true_cats, final_cats),
        "category_confusion": metrics.confusion(true_cats, final_cats, CATEGORIES),
        "emergency": asdict(emergency),
        "missed_emergencies": [
            {"text": r["text"], "intent": r["intent"], "got": c.intent}
            for r, c in zip(records, classified, strict=True)
            if category_of(r["intent"]) == Category.EMERGENCY and not c.emergency
        ],
        "false_alarms": [
            {"text": r["text"], "intent": r["intent"], "got": c.intent, "why": c.emergency_reason}
            for r, c in zip(records, classified, strict=True)
            if category_of(r["intent"]) != Category.EMERGENCY and c.emergency
        ],
    }


async def _live_checks(
    url: str, heldout: list[dict[str, Any]], samples: list[str]
) -> dict[str, Any]:
    async with NLUClient(url) as client:
        for text in samples[:20]:  # warm-up
            await client.parse_raw(text)
        latencies = []
        for text in samples:
            started = time.perf_counter()
            await client.parse_raw(text)
            latencies.append((time.perf_counter() - started) * 1000)
        classified = [await client.classify(m["text"]) for m in heldout]
    return {
        "parse_requests": len(latencies),
        "parse_p50_ms": metrics.percentile(latencies, 50),
        "parse_p95_ms": metrics.percentile(latencies, 95),
        "heldout": score(heldout, classified) if heldout else None,
    }


def load_heldout(project: RasaProject) -> list[dict[str, Any]]:
    path = project.root / "tests" / "data" / "heldout.yml"
    if not path.exists():
        return []
    messages: list[dict[str, Any]] = yaml.safe_load(path.read_text("utf-8"))["messages"]
    return messages


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def render(report: dict[str, Any]) -> str:
    cv = report["cross_validation"]
    out = [
        f"# NLU evaluation ({report['folds']}-fold cross-validation, {cv['examples']} examples)",
        "",
    ]
    out.append("## Targets")
    rows = [["figure", "measured", "target", "met"]]
    for name, target in TARGETS.items():
        value = report["figures"][name]
        better_low = name in {"false_alarm_rate", "train_seconds", "parse_p50_ms"}
        met = value <= target if better_low else value >= target
        rows.append(
            [
                name,
                f"{value:.3f}",
                f"{'<=' if better_low else '>='} {target}",
                "yes" if met else "NO",
            ]
        )
    rows.append(["parse_p95_ms", f"{report['figures']['parse_p95_ms']:.3f}", "", ""])
    out += [
        "```",
        _table(rows),
        "```",
        "",
        "## Intents (model's top intent, cross-validation)",
        "```",
    ]
    rows = [["intent", "precision", "recall", "f1", "support"]]
    for s in cv["intent_scores"]:
        rows.append(
            [
                s["label"],
                f"{s['precision']:.3f}",
                f"{s['recall']:.3f}",
                f"{s['f1']:.3f}",
                str(s["support"]),
            ]
        )
    out += [_table(rows), "```", "", "## Categories (final decision, safety layer included)", "```"]
    rows = [["true \\ predicted", *CATEGORIES]]
    for cat, row in zip(CATEGORIES, cv["category_confusion"], strict=True):
        rows.append([cat, *map(str, row)])
    out += [_table(rows), "```", ""]
    for title, part in (("cross-validation", cv), ("held-out messages", report.get("heldout"))):
        if part:
            out += _emergency_lines(title, part)
    return "\n".join(out) + "\n"


def _emergency_lines(title: str, part: dict[str, Any]) -> list[str]:
    """Emergency recall and false alarms of one evaluation, with each miss and alarm."""
    e = part["emergency"]
    out = [
        f"Emergencies ({title}): recall {e['recall']:.3f} ({e['missed']} missed of "
        f"{e['emergencies']}), false alarms {e['false_alarm_rate']:.3f} "
        f"({e['false_alarms']} of {e['non_emergencies']}); category accuracy "
        f"{part['category_accuracy']:.3f}; intent macro-F1 {part['intent_macro_f1']:.3f}"
    ]
    for miss in part["missed_emergencies"]:
        out.append(f"- missed ({miss['intent']} -> {miss['got']}): {miss['text']}")
    for alarm in part["false_alarms"]:
        out.append(
            f"- false alarm ({alarm['intent']} -> {alarm['got']}, {alarm['why']}): {alarm['text']}"
        )
    out.append("")
    return out


def plot_confusion(report: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    matrix = report["cross_validation"]["category_confusion"]
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(CATEGORIES)), CATEGORIES, rotation=30, ha="right")
    ax.set_yticks(range(len(CATEGORIES)), CATEGORIES)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center")
    ax.set_xlabel("predicted (final decision)")
    ax.set_ylabel("true category")
    ax.set_title("NLU categories, cross-validation")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def run_evaluation(folds: int, report_dir: str, port: int | None = None) -> int:
    project = RasaProject.default()
    project.require_rasa()
    out_dir = Path(report_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    _say("==> full training from a cold cache (timed)")
    with tempfile.TemporaryDirectory() as tmp:
        _, train_seconds = project.train(force=True, out=Path(tmp) / "nlu-timed.tar.gz", cold=True)
    model, _ = project.train()

    records = cross_validate(project, folds, out_dir / "cv-predictions.jsonl")
    lexicon, policy = CrisisLexicon.load(), SafetyPolicy()
    classified = [interpret(r["text"], r["parse"], lexicon, policy) for r in records]
    cv = score(records, classified)

    _say("==> parse latency and held-out messages against the Rasa server")
    heldout = load_heldout(project)
    samples = [r["text"] for r in records][:400]
    with rasa_server(project, port or free_port(), model=model) as url:
        live = asyncio.run(_live_checks(url, heldout, samples))

    report = {
        "folds": folds,
        "model": model.name,
        "cross_validation": cv,
        "heldout": live["heldout"],
        "figures": {
            "emergency_recall": cv["emergency"]["recall"],
            "false_alarm_rate": cv["emergency"]["false_alarm_rate"],
            "category_accuracy": cv["category_accuracy"],
            "intent_macro_f1": cv["intent_macro_f1"],
            "train_seconds": train_seconds,
            "parse_p50_ms": live["parse_p50_ms"],
            "parse_p95_ms": live["parse_p95_ms"],
        },
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    text = render(report)
    (out_dir / "report.md").write_text(text, "utf-8")
    pictured = plot_confusion(report, out_dir / "confusion.png")
    print(text)
    _say(f"report written to {out_dir / 'report.md'}" + (" and confusion.png" if pictured else ""))
    return 0
