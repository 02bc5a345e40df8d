"""Shared fixtures: the trained model and one real Rasa server per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.nlu.evaluate import free_port
from bot.nlu.rasa_env import RasaProject, rasa_server
from bot.nlu.safety import CrisisLexicon


@pytest.fixture(scope="session")
def project() -> RasaProject:
    return RasaProject.default()


@pytest.fixture(scope="session")
def lexicon() -> CrisisLexicon:
    return CrisisLexicon.load()


@pytest.fixture(scope="session")
def trained_model(project: RasaProject) -> Path:
    """The model for the current config.yml + nlu/, trained only if it is missing."""
    path, _ = project.train()
    return path


@pytest.fixture(scope="session")
def rasa_url(
    project: RasaProject, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The stock Rasa server with the trained model, started once per test session."""
    log = tmp_path_factory.mktemp("rasa") / "rasa.log"
    with rasa_server(project, free_port(), model=trained_model, log_file=log) as url:
        yield url
