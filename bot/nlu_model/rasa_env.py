"""The Rasa side: its virtualenv, the trained model, and the stock Rasa server process.

Rasa 3.6 lives in its own virtualenv on Python 3.10 (``.venv-rasa``, made by
``scripts/setup-rasa-venv.sh``); the bot only ever runs its ``rasa`` command.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bot.nlu.client import split_token, with_token
from bot.processes import die_with_parent, write_pid

log = logging.getLogger(__name__)

MODEL_PREFIX = "nlu-"


class RasaSetupError(RuntimeError):
    """Rasa's virtualenv or model is missing or broken; the message says what to run."""


def project_dir() -> Path:
    """The repository root: where config.yml and nlu/ are."""
    configured = os.environ.get("HELPLINE_PROJECT_DIR")
    if configured:
        return Path(configured).resolve()
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RasaProject:
    root: Path

    @classmethod
    def default(cls) -> RasaProject:
        return cls(project_dir())

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def nlu_dir(self) -> Path:
        return self.root / "nlu"

    @property
    def models_dir(self) -> Path:
        return Path(os.environ.get("HELPLINE_MODELS_DIR", self.root / "models"))

    @property
    def rasa_bin(self) -> Path:
        configured = os.environ.get("HELPLINE_RASA_BIN")
        return Path(configured) if configured else self.root / ".venv-rasa" / "bin" / "rasa"

    @property
    def rasa_python(self) -> Path:
        return self.rasa_bin.parent / "python"

    @property
    def pipeline_dir(self) -> Path:
        """The project's own pipeline components (nlu_pipeline/), imported by Rasa."""
        return self.root / "nlu_pipeline"

    def training_files(self) -> list[Path]:
        data = sorted(p for p in self.nlu_dir.rglob("*.yml") if p.is_file())
        return data + self.pipeline_files()

    def pipeline_files(self) -> list[Path]:
        return sorted(
            p for p in self.pipeline_dir.glob("*") if p.is_file() and p.suffix in (".py", ".yml")
        )

    def content_hash(self) -> str:
        """Hash of what training reads: config.yml, nlu/ and the components in nlu_pipeline/."""
        return self._hash([self.config, *self.training_files()])

    def cache_dir(self) -> Path:
        """Rasa's training cache, one per version of nlu_pipeline/.

        Rasa reuses a component's cached output when the component's class source, config
        and inputs are unchanged; it cannot see that the tokenizer's word forms changed in
        normalise.py or slang.yml, and would restore features built with the old forms.
        """
        return self.models_dir / ".rasa-cache" / self._hash(self.pipeline_files())

    def _hash(self, paths: list[Path]) -> str:
        digest = hashlib.sha256()
        for path in paths:
            digest.update(str(path.relative_to(self.root)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        return digest.hexdigest()[:16]

    def model_path(self) -> Path:
        return self.models_dir / f"{MODEL_PREFIX}{self.content_hash()}.tar.gz"

    def require_rasa(self) -> None:
        if not self.rasa_bin.exists():
            raise RasaSetupError(
                f"Rasa is not installed at {self.rasa_bin}; run `make setup` "
                "(it makes the Python 3.10 virtualenv with Rasa 3.6)."
            )

    def rasa_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONHASHSEED="0",
            TF_DETERMINISTIC_OPS="1",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            # config.yml names components of nlu_pipeline/ by module path.
            PYTHONPATH=os.pathsep.join(
                p for p in (str(self.root), os.environ.get("PYTHONPATH", "")) if p
            ),
            RASA_CACHE_DIRECTORY=str(self.cache_dir()),
        )
        return env

    def train(
        self, *, force: bool = False, out: Path | None = None, cold: bool = False
    ) -> tuple[Path, float]:
        """Train the model unless one for this exact content exists; (path, seconds spent).

        ``cold`` trains without Rasa's training cache, as on a fresh machine (for timing).
        """
        self.require_rasa()
        target = self.model_path() if out is None else out
        if target.exists() and not force:
            return target, 0.0
        target.parent.mkdir(parents=True, exist_ok=True)
        name = target.name.removesuffix(".tar.gz")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            cmd = [
                str(self.rasa_bin),
                "train",
                "nlu",
                "--config",
                str(self.config),
                "--nlu",
                str(self.nlu_dir),
                "--out",
                tmp,
                "--fixed-model-name",
                name,
            ]
            log.info("training: %s", " ".join(cmd))
            env = self.rasa_env()
            if cold:
                env["RASA_CACHE_DIRECTORY"] = str(Path(tmp) / "cache")
            result = subprocess.run(cmd, env=env, cwd=self.root, check=False)
            built = Path(tmp) / target.name
            if result.returncode != 0 or not built.exists():
                raise RasaSetupError(f"rasa train nlu failed (exit {result.returncode})")
            os.replace(built, target)
        elapsed = time.monotonic() - started
        if out is None:
            self._drop_old_models(keep=target)
        return target, elapsed

    def _drop_old_models(self, keep: Path) -> None:
        for old in self.models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"):
            if old != keep:
                old.unlink(missing_ok=True)
        current = self.cache_dir()
        for cache in (self.models_dir / ".rasa-cache").glob("*"):
            if cache.is_dir() and cache != current:
                shutil.rmtree(cache, ignore_errors=True)

    def serve_command(
        self, model: Path, port: int, host: str = "127.0.0.1", token: str | None = None
    ) -> list[str]:
        """The stock server; with ``token``, every API call must carry it (Rasa's
        --auth-token), so no other local process can replace or delete the model."""
        command = [
            str(self.rasa_bin),
            "run",
            "--enable-api",
            "--model",
            str(model),
            "--interface",
            host,
            "--port",
            str(port),
        ]
        # One argument: a token that starts with "-" must not read as an option.
        return [*command, f"--auth-token={token}"] if token else command


def wait_until_ready(url: str, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    """Wait until the Rasa server at ``url`` (with its token, if any) has a model loaded."""
    base, token = split_token(url)
    query = f"?token={token}" if token else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RasaSetupError(f"the Rasa server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/status{query}", timeout=2) as response:
                if b"model_file" in response.read():
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RasaSetupError(f"the Rasa server at {url} was not ready within {timeout:.0f} s")


@contextmanager
def rasa_server(
    project: RasaProject,
    port: int,
    *,
    model: Path | None = None,
    log_file: Path | None = None,
    ready_timeout: float = 180.0,
    pid_file: Path | None = None,
) -> Iterator[str]:
    """Run the stock Rasa server in the background, on 127.0.0.1 with a random auth token
    of this run; yields its URL with the token in it (``split_token`` reads it), stops
    the server on exit."""
    project.require_rasa()
    model = model or project.model_path()
    if not model.exists():
        raise RasaSetupError(f"no trained model at {model}; run `helpline nlu train`")
    token = secrets.token_hex(24)
    url = with_token(f"http://127.0.0.1:{port}", token)
    out = _private_log(log_file) if log_file else subprocess.DEVNULL
    process = subprocess.Popen(
        project.serve_command(model, port, token=token),
        env=project.rasa_env(),
        cwd=project.root,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent(),  # it ends when whoever started it ends
    )
    if pid_file is not None:
        write_pid(pid_file, process.pid)
    try:
        wait_until_ready(url, ready_timeout, process)
        yield url
    finally:
        stop_process(process)
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)
        if log_file and not isinstance(out, int):
            out.close()


def _private_log(path: Path) -> BinaryIO:
    """The server's log, readable by the owner only (it may quote what workers wrote)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "ab")


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``grace`` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
