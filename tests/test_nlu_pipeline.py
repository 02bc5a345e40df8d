"""The pipeline's linear models (nlu_pipeline/tfidf.py, blend.py, emergency.py), in Rasa's Python.

They import Rasa and scikit-learn, which only the Rasa virtualenv has, so the checks live
in tests/rasa_side/ and run there.
"""

from __future__ import annotations

import subprocess

from bot.nlu_model.rasa_env import RasaProject


def test_linear_models_and_the_blend(project: RasaProject) -> None:
    script = project.root / "tests" / "rasa_side" / "check_linear_models.py"
    result = subprocess.run(
        [str(project.rasa_python), str(script)],
        env=project.rasa_env(),
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "ok"
