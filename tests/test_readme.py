"""Runs the README's examples marked `<!-- readme-test -->` against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LiveServer

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"<!-- readme-test -->\n```(\w+)\n(.*?)```", README, flags=re.S)


def test_readme_has_the_two_commands_first() -> None:
    first = re.search(r"```bash\n(.*?)```", README, flags=re.S).group(1)
    assert "bash scripts/demo.sh" in first and "bash scripts/test.sh" in first
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci


def test_examples_run(live_server: LiveServer) -> None:
    assert [lang for lang, _ in BLOCKS] == ["bash", "bash", "python"]
    env = {
        **os.environ,
        "TUNECOST_URL": live_server.url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    outputs = []
    for lang, code in BLOCKS:
        if lang == "bash" and "curl" in code and shutil.which("curl") is None:
            pytest.skip("curl is not installed")
        cmd = ["bash", "-e", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{lang} block failed:\n{code}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout + done.stderr)
    rest, cli_out, python_out = outputs
    assert '"state":"queued"' in rest and '"loc":["body","budget"]' in rest
    assert '"optimizer":"adam"' in rest and '"scheduler":{"name":"asha"' in rest
    assert "job 3 succeeded" in cli_out and "alpha=" in cli_out
    assert "trial,alpha,epsilon,error,best_so_far,suboptimality,diverged" in cli_out
    assert "error: optimizer: unknown optimizer 'sophia'" in cli_out and "exit code 1" in cli_out
    assert "job_id=4" in python_out  # the best config, printed as its model


def test_plain_optuna_gld_example_runs() -> None:
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if "CGLDSampler" in b]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
