"""Device helpers: the choice order and the one-line description (notebook 00)."""

import pytest
import torch

from course_utils import device as device_mod
from course_utils.errors import CourseError


@pytest.mark.parametrize(("cuda", "mps", "expected"), [(False, False, "cpu"), (True, True, "cuda"), (False, True, "mps")],
                         ids=["cpu when no gpu", "cuda before mps", "mps when no cuda"])
def test_device_choice_order(monkeypatch, cuda, mps, expected):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: mps)
    assert device_mod.get_device() == torch.device(expected)


def test_forced_cuda_without_gpu_falls_back_to_cpu(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    assert device_mod.get_device() == torch.device("cpu")
    assert "no CUDA GPU" in capsys.readouterr().out


def test_unknown_device_name_is_a_clear_error():
    with pytest.raises(CourseError, match="use 'cuda', 'mps' or 'cpu'"):
        device_mod.get_device("tpu9")


@pytest.mark.parametrize(
    ("capability", "bf16", "dtype"),
    [((7, 5), False, torch.float16), ((8, 0), True, torch.bfloat16), ((9, 0), True, torch.bfloat16)],
)
def test_bf16_follows_compute_capability_not_is_bf16_supported(capability, bf16, dtype):
    info = device_mod.DeviceInfo(torch.device("cuda"), "Tesla T4", 15.0, capability)
    assert info.bf16 is bf16
    assert info.amp_dtype is dtype
    line = info.describe()
    assert "Tesla T4" in line and f"{capability[0]}.{capability[1]}" in line and "15.0 GB" in line


def test_cpu_description_and_colab_hint(monkeypatch):
    monkeypatch.setattr(device_mod, "_in_colab", lambda: False)
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda cpuinfo=None: False)
    assert device_mod.describe_device("cpu").startswith("cpu:")
    assert "full precision" in device_mod.describe_device("cpu")
    monkeypatch.setattr(device_mod, "_in_colab", lambda: True)
    assert "Change runtime type" in device_mod.describe_device("cpu")
    assert device_mod.device_info("cpu").amp_dtype is None


CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f {extra}\nbugs\t\t: spectre_v1\n"


@pytest.mark.parametrize(("extra", "native"), [("", False), ("avx512_bf16", True), ("amx_bf16 amx_tile", True),
                                                ("avx512bw", False)])
def test_cpu_bf16_is_read_from_the_cpu_flags(extra, native):
    assert device_mod.cpu_has_native_bf16(CPUINFO.format(extra=extra)) is native


def test_a_cpu_with_bf16_trains_in_bf16(monkeypatch):
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda cpuinfo=None: True)
    info = device_mod.device_info("cpu")
    assert info.bf16 and info.amp_dtype is torch.bfloat16
    assert "bf16 in hardware" in info.describe()
    from course_utils.device import amp_dtype as _amp_dtype

    assert _amp_dtype(torch.device("cpu"), "auto") is torch.bfloat16
    assert _amp_dtype(torch.device("cpu"), "bf16") is torch.bfloat16
    assert _amp_dtype(torch.device("cpu"), "no") is None


@pytest.mark.parametrize("value", ["no", "off", "NO "])
def test_the_environment_turns_mixed_precision_off_for_a_whole_run(monkeypatch, value):
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda cpuinfo=None: True)
    monkeypatch.setenv("COURSE_MIXED_PRECISION", value)
    assert device_mod.amp_dtype(torch.device("cpu"), "auto") is None  # "auto" follows the environment
    assert device_mod.amp_dtype(torch.device("cpu"), "bf16") is torch.bfloat16  # an explicit choice still wins
    monkeypatch.setenv("COURSE_MIXED_PRECISION", "")
    assert device_mod.amp_dtype(torch.device("cpu"), "auto") is torch.bfloat16


def test_import_probes_nothing():
    import subprocess
    import sys

    code = (
        "import torch\n"
        "calls = []\n"
        "torch.cuda.is_available = lambda: calls.append('probed') or False\n"
        "import course_utils, course_utils.device, course_utils.models, course_utils.data, course_utils.metrics\n"
        "import random; state = random.getstate()\n"
        "assert calls == [], calls\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
