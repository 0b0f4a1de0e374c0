"""The Dockerfile builds one image for every process: multi-stage (a builder with the
wheel and its venv, a slim runtime), a user without privileges, a healthcheck on the
health port, `tradewind` as the entrypoint; .dockerignore keeps all but the package out."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tradewind.app.registry import SERVICES
from tradewind.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def read_instructions(path: Path) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "a continuation line ends the file"
    return [Instruction(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


INSTRUCTIONS = read_instructions(ROOT / "Dockerfile")


def stages() -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in INSTRUCTIONS:
        if instruction.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


STAGES = stages()
RUNTIME = STAGES[-1]


def only(stage: list[Instruction], keyword: str) -> Instruction:
    matches = [instruction for instruction in stage if instruction.keyword == keyword]
    assert len(matches) == 1, f"expected one {keyword}, found {len(matches)}"
    return matches[0]


def build_args() -> dict[str, str]:
    return dict(
        instruction.arguments.split("=", 1)
        for instruction in INSTRUCTIONS
        if instruction.keyword == "ARG" and "=" in instruction.arguments
    )


def runtime_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in RUNTIME:
        if instruction.keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(instruction.arguments))
    return env


def test_builds_in_a_builder_stage_and_runs_from_python_3_11_slim() -> None:
    assert len(STAGES) >= 2
    builder = STAGES[0][0].arguments.split()
    assert builder[-2].upper() == "AS"
    base = RUNTIME[0].arguments.split()[0]
    image = re.sub(r"\$\{(\w+)\}", lambda m: build_args()[m.group(1)], base)
    assert image == "python:3.11-slim"
    copies = [i.arguments for i in RUNTIME if i.keyword == "COPY"]
    assert any(f"--from={builder[-1]}" in copy for copy in copies)
    builder_runs = " ".join(i.arguments for i in STAGES[0] if i.keyword == "RUN")
    assert "pip wheel" in builder_runs, "the builder makes the wheel"


def test_runs_as_a_user_without_privileges() -> None:
    user = only(RUNTIME, "USER").arguments.split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "numeric, so that Kubernetes' runAsNonRoot can check it"


def test_healthcheck_asks_healthz_on_the_health_port() -> None:
    check = only(RUNTIME, "HEALTHCHECK").arguments
    assert "/healthz" in check
    assert "TRADEWIND_HEALTH_PORT" in check
    env = runtime_env()
    assert env["TRADEWIND_HEALTH_HOST"] == "0.0.0.0", "reachable from outside the container"
    assert int(env["TRADEWIND_HEALTH_PORT"]) == Settings.model_fields["health_port"].default
    assert f"'{env['TRADEWIND_HEALTH_PORT']}'" in check, "the same default port"


def test_entrypoint_is_tradewind_and_the_default_command_a_service() -> None:
    assert only(RUNTIME, "ENTRYPOINT").arguments == '["tradewind"]'
    command = only(RUNTIME, "CMD").arguments
    assert command.startswith("[")
    verb, name = json.loads(command)  # the exec form is a JSON list
    assert verb == "service" and name in SERVICES
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["tradewind"] == "tradewind.cli:main"


def test_dockerignore_admits_only_what_the_build_copies() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "everything is excluded unless named: secrets never reach a build"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    sources = {
        source.rstrip("/")
        for stage in STAGES
        for instruction in stage
        if instruction.keyword == "COPY" and "--from" not in instruction.arguments
        for source in instruction.arguments.split()[:-1]
    }
    assert sources == admitted
    assert not any(name.startswith("deploy") for name in admitted)


def test_copies_only_local_files() -> None:
    assert not [i for i in INSTRUCTIONS if i.keyword == "ADD"], "no URLs, no archives"
