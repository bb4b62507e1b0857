"""`--precision auto`: bf16 autocast only where the device computes bf16 natively, float32 elsewhere."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
import torch

from nnlab.training import runtime
from nnlab.training.runtime import autocast, cpu_class, describe_precision, resolve_precision

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda", 0), torch.device("mps")


@pytest.fixture
def fake_cpu(monkeypatch):
    """Make `cpu_class()` answer as the named CPU class would, and forget earlier warnings."""
    monkeypatch.setattr(runtime, "_warned", set())

    def fake(name: str) -> None:
        monkeypatch.setattr(runtime, "cpu_class", lambda: name)
    return fake


@pytest.mark.parametrize("name, expected", [("AMX", "bf16-mixed"), ("AVX512-BF16", "bf16-mixed"),
                                            ("ARM-BF16", "bf16-mixed"), ("AVX512", "32"), ("AVX2", "32"),
                                            ("DEFAULT", "32")])
def test_auto_on_a_cpu_is_bf16_only_where_bf16_is_native(fake_cpu, name, expected):
    fake_cpu(name)
    assert resolve_precision("auto", CPU) == expected


@pytest.mark.parametrize("bf16, expected", [(True, "bf16-mixed"), (False, "32")])
def test_auto_on_cuda_follows_the_gpus_native_bf16(monkeypatch, bf16, expected):
    asked = []
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: asked.append(
        including_emulation) or bf16)
    assert resolve_precision("auto", CUDA) == expected
    assert asked == [False]  # emulated bf16 (pre-Ampere GPUs) does not count


def test_auto_on_mps_is_float32():
    assert resolve_precision("auto", MPS) == "32"


def test_explicit_choices_are_kept(fake_cpu):
    fake_cpu("AMX")
    assert resolve_precision("32", CPU) == "32"
    fake_cpu("AVX2")
    assert resolve_precision("bf16-mixed", CPU) == "bf16-mixed"  # emulated, but what the user asked for


def test_explicit_bf16_on_a_cpu_without_it_warns_once(fake_cpu, caplog):
    fake_cpu("AVX2")
    with caplog.at_level(logging.WARNING, logger="nnlab"):
        for _ in range(3):
            with autocast(CPU, "bf16-mixed"):
                assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "AVX2" in warnings[0] and "emulated" in warnings[0], warnings
    assert "\n" not in warnings[0]


def test_no_warning_where_bf16_is_native(fake_cpu, caplog):
    fake_cpu("AMX")
    with caplog.at_level(logging.WARNING, logger="nnlab"):
        resolve_precision("bf16-mixed", CPU)
    assert not caplog.records


def test_auto_autocast_is_off_without_native_bf16(fake_cpu):
    fake_cpu("AVX2")
    with autocast(CPU, "auto"):
        assert not torch.is_autocast_enabled("cpu")
    fake_cpu("AVX512-BF16")
    with autocast(CPU, "auto"):
        assert torch.is_autocast_enabled("cpu")


def test_describe_says_what_auto_picked_and_why(fake_cpu):
    fake_cpu("AVX2")
    assert describe_precision("auto", CPU) == "precision: float32 (auto; CPU AVX2 has no native bf16)"
    fake_cpu("AMX")
    assert describe_precision("auto", CPU) == "precision: bf16 autocast (auto; CPU AMX computes bf16 natively)"


@pytest.mark.parametrize("capability, onednn_bf16, chip, expected", [
    ("AVX512", True, {"amx_bf16": True, "avx512_bf16": True}, "AMX"),
    ("AVX512", True, {"amx_bf16": False, "avx512_bf16": True}, "AVX512-BF16"),
    ("AVX512", True, {"amx_bf16": False, "avx512_bf16": False}, "AVX512"),  # oneDNN emulates bf16 on AVX512
    ("AVX2", False, {"amx_bf16": False, "avx512_bf16": True}, "AVX2"),  # capped: ONEDNN_MAX_CPU_ISA=AVX2
    ("AVX2", False, {}, "AVX2"),
    ("DEFAULT", False, {}, "DEFAULT"),
])
def test_cpu_class_reads_what_torch_will_use(monkeypatch, capability, onednn_bf16, chip, expected):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn_bf16)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: chip)
    cpu_class.cache_clear()
    try:
        assert cpu_class() == expected
    finally:
        cpu_class.cache_clear()


@pytest.mark.skipif(not torch.cpu.get_capabilities().get("avx2"), reason="imitates AVX2 on an x86 CPU that has it")
def test_an_avx2_cpu_imitated_by_torchs_own_switches_resolves_to_float32():
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = subprocess.run([sys.executable, "-m", "nnlab", "env"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "class AVX2" in done.stdout and "precision: float32 (auto; CPU AVX2 has no native bf16)" in done.stdout


def test_a_run_prints_and_records_the_precision_it_computed_in(cli, tmp_path, fake_cpu):
    fake_cpu("AVX2")
    result = cli("train", "iris", "--epochs", "1", "--precision", "auto", "--out", tmp_path)
    assert result.code == 0, result.err
    assert result.err.count("precision: float32 (auto; CPU AVX2 has no native bf16)") == 1
    env = json.loads(next(tmp_path.glob("iris/*/env.json")).read_text())
    assert env["precision"] == "32" and env["cpu_class"] == "AVX2"
    config = next(tmp_path.glob("iris/*/config.yaml")).read_text()
    assert "precision: auto" in config  # resumed elsewhere, the run picks that machine's precision


def test_explicit_bf16_run_on_an_emulating_cpu_warns_in_one_line(cli, tmp_path, fake_cpu):
    fake_cpu("AVX2")
    result = cli("train", "iris", "--epochs", "1", "--precision", "bf16-mixed", "--out", tmp_path)
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "emulated" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: this CPU (AVX2) has no native bf16")
    assert json.loads(next(tmp_path.glob("iris/*/env.json")).read_text())["precision"] == "bf16-mixed"


def test_auto_is_the_default_where_bf16_can_pay_and_float32_where_it_was_measured_not_to():
    from nnlab.api import resolve_config

    assert resolve_config("cnn").train.precision == "auto" and resolve_config("gan").train.precision == "auto"
    assert resolve_config("calo-classifier").train.precision == "auto"
    assert resolve_config("iris").train.precision == "32" and resolve_config("calogan").train.precision == "32"
