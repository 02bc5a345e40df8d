"""The model is retrained only when config.yml, nlu/ or nlu_pipeline/ change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.nlu_model.rasa_env import RasaProject, RasaSetupError, rasa_server


def copy_project(tmp_path: Path) -> RasaProject:
    root = RasaProject.default().root
    shutil.copy(root / "config.yml", tmp_path / "config.yml")
    shutil.copytree(root / "nlu", tmp_path / "nlu")
    shutil.copytree(root / "nlu_pipeline", tmp_path / "nlu_pipeline")
    return RasaProject(tmp_path)


def test_hash_is_stable_and_tracks_content(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    first = project.content_hash()
    assert project.content_hash() == first
    assert first == RasaProject.default().content_hash()
    extra = project.nlu_dir / "id" / "extra.yml"
    extra.write_text('version: "3.1"\nnlu: []\n')
    assert project.content_hash() != first
    extra.unlink()
    assert project.content_hash() == first
    (project.config).write_text(project.config.read_text() + "\n# comment\n")
    assert project.content_hash() != first


def test_hash_tracks_the_pipeline_components(tmp_path: Path) -> None:
    """A new spelling variant or a stemmer change changes the features: retrain."""
    project = copy_project(tmp_path)
    first = project.content_hash()
    slang = project.pipeline_dir / "slang.yml"
    slang.write_text(slang.read_text() + "majikan2: [mjkn2]\n")
    assert project.content_hash() != first


def test_rasa_cache_is_kept_per_pipeline_version(tmp_path: Path) -> None:
    """Rasa's cache cannot see a changed word form: a new pipeline gets a new cache."""
    project = copy_project(tmp_path)
    first = project.rasa_env()["RASA_CACHE_DIRECTORY"]
    assert Path(first).parent == project.models_dir / ".rasa-cache"
    (project.nlu_dir / "id" / "extra.yml").write_text('version: "3.1"\nnlu: []\n')
    assert project.rasa_env()["RASA_CACHE_DIRECTORY"] == first  # Rasa sees data itself
    normaliser = project.pipeline_dir / "normalise.py"
    normaliser.write_text(normaliser.read_text() + "\n# a stemmer change\n")
    assert project.rasa_env()["RASA_CACHE_DIRECTORY"] != first


def test_model_name_carries_the_hash(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    assert project.model_path().name == f"nlu-{project.content_hash()}.tar.gz"


def test_missing_rasa_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPLINE_RASA_BIN", str(tmp_path / "nowhere" / "rasa"))
    project = copy_project(tmp_path)
    with pytest.raises(RasaSetupError, match="make setup"):
        project.train()


def test_serving_without_a_model_is_refused(tmp_path: Path) -> None:
    project = RasaProject.default()
    with (
        pytest.raises(RasaSetupError, match="no trained model"),
        rasa_server(project, 5999, model=tmp_path / "missing.tar.gz"),
    ):
        pass
