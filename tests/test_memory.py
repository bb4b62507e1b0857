"""glibc keeps freed memory for the next batch: the process setting nnlab's entry points make."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nnlab.memory import _glibc, freed_memory_retained, retain_freed_memory

# three live 4 MiB temporaries per "batch", then all freed: the pattern of a generator's batch
PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "retain":
    from nnlab.memory import retain_freed_memory
    assert retain_freed_memory()
def batch():
    held = [np.ones(1 << 20, np.float32) for _ in range(3)]
    return sum(float(h[-1]) for h in held)
batch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    batch()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def without_malloc_settings() -> dict[str, str]:
    """This process's environment less any MALLOC_*_ variable, so a child starts with glibc's defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}


def page_faults_per_batch(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], env=without_malloc_settings(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return float(done.stdout)


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")
def test_retained_memory_is_reused_without_page_faults():
    # glibc's defaults hand freed heap back to the OS and fault it in again each batch (~1,000 pages here)
    assert page_faults_per_batch("default") > 1000
    assert page_faults_per_batch("retain") < 10


def test_the_users_own_malloc_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert retain_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    assert retain_freed_memory() is _glibc() and freed_memory_retained() is _glibc()


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")
def test_env_says_whether_freed_memory_is_retained():
    env = without_malloc_settings()
    for extra, said in (({}, "freed memory: retained for reuse"),
                        ({"MALLOC_TOP_PAD_": "131072"}, "freed memory: returned to the OS")):
        done = subprocess.run([sys.executable, "-m", "nnlab", "env"], env={**env, **extra}, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and said in done.stdout, done.stdout + done.stderr
