"""Which device to train on, and a one-line description of it (notebook 00).

Introduced in notebook 00 (setup). Nothing here runs at import time: the device is
probed only when :func:`get_device` or :func:`describe_device` is called.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from course_utils.errors import CourseError

__all__ = ["DeviceInfo", "cpu_has_native_bf16", "get_device", "device_info", "describe_device", "amp_dtype"]

_DEVICE_ENV_VAR = "COURSE_DEVICE"
_COLAB_GPU_HINT = (
    "On Colab: Runtime > Change runtime type > Hardware accelerator: T4 GPU > Save, "
    "then run the notebook again from the top."
)


@dataclass(frozen=True)
class DeviceInfo:
    """What :func:`device_info` found (notebook 00)."""

    device: torch.device
    name: str
    memory_gb: float | None = None
    capability: tuple[int, int] | None = None
    cpu_bf16: bool = False

    @property
    def bf16(self) -> bool:
        """True only where bfloat16 runs in hardware.

        On CUDA: compute capability >= 8.0. ``torch.cuda.is_bf16_supported()`` also says
        True on older GPUs such as the T4 (capability 7.5), where bf16 is emulated and
        slow, so it is not used here. On a CPU: native bf16 instructions (AVX-512 BF16 or
        AMX, see :func:`cpu_has_native_bf16`).
        """
        if self.device.type == "cpu":
            return self.cpu_bf16
        return self.capability is not None and self.capability >= (8, 0)

    @property
    def amp_dtype(self) -> torch.dtype | None:
        """The mixed-precision dtype to train with: bf16, fp16 (with a scaler), or None for full precision
        (:func:`_precision_dtype` with ``"auto"``)."""
        return _precision_dtype(self.device.type, self.bf16, "auto")

    def describe(self) -> str:
        """One line: kind, name, memory, compute capability and bf16 support."""
        if self.device.type == "cuda":
            major, minor = self.capability or (0, 0)
            return (
                f"cuda: {self.name}, {self.memory_gb:.1f} GB, compute capability "
                f"{major}.{minor}, bf16 {'yes' if self.bf16 else 'no (fp16 mixed precision instead)'}"
            )
        if self.device.type == "mps":
            return "mps: Apple GPU (Metal), no CUDA mixed precision"
        precision = ("bf16 in hardware (bf16 mixed precision)" if self.cpu_bf16
                     else "no bf16 instructions (full precision)")
        return f"cpu: {self.name}, {precision}, no GPU found"


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when ``/proc/cpuinfo`` lists AVX-512 BF16 or AMX (Linux): else bf16 on a CPU is emulated, slower than fp32."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace") if cpuinfo is None else cpuinfo
    except OSError:
        return False
    flags = {flag for line in cpuinfo.splitlines() if line.startswith("flags") for flag in line.partition(":")[2].split()}
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def _precision_dtype(device_type: str, bf16: bool, mixed_precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype, or None for full precision (notebook 04). ``"auto"``: bf16 where the hardware has it, fp16
    with a scaler on older CUDA GPUs, else None; ``COURSE_MIXED_PRECISION=no`` makes ``"auto"`` None for a whole run."""
    off = os.environ.get("COURSE_MIXED_PRECISION", "").strip().lower() in ("no", "off", "0")
    if mixed_precision == "no" or (mixed_precision == "auto" and (off or device_type not in ("cuda", "cpu"))):
        return None
    if mixed_precision == "auto":
        return torch.bfloat16 if bf16 else (torch.float16 if device_type == "cuda" else None)
    if mixed_precision == "bf16" and not bf16:
        raise CourseError(f"mixed_precision='bf16' needs bf16 in hardware: a CUDA GPU of compute capability 8.0 or "
                          f"newer, or a CPU with AVX-512 BF16 or AMX; this device is {device_type}, without it. "
                          "Fix: mixed_precision='auto' (fp16 with a scaler on older GPUs, else full precision) or 'no'.")
    if mixed_precision == "fp16" and device_type != "cuda":
        raise CourseError(f"mixed_precision='fp16' needs a CUDA GPU; this device is {device_type}. "
                          "Fix: mixed_precision='auto' or 'no' (full precision).")
    return torch.bfloat16 if mixed_precision == "bf16" else torch.float16


def amp_dtype(device: torch.device | str, mixed_precision: str = "auto") -> torch.dtype | None:
    """:func:`_precision_dtype` for ``device``, probing whether it has bf16 in hardware."""
    device = torch.device(device)
    bf16 = torch.cuda.get_device_capability(device) >= (8, 0) if device.type == "cuda" else cpu_has_native_bf16()
    return _precision_dtype(device.type, bf16 and device.type in ("cuda", "cpu"), mixed_precision)


def _in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | None = None) -> torch.device:
    """The device to use: CUDA if present, else Apple MPS, else CPU (notebook 00). ``prefer`` (or ``$COURSE_DEVICE``)
    forces one, e.g. ``"cpu"`` to compare speeds; one that is not there falls back to the CPU with a message."""
    wanted = (prefer or os.environ.get(_DEVICE_ENV_VAR) or "").strip().lower()
    there = {"cuda": torch.cuda.is_available(), "mps": _mps_available(), "cpu": True}
    kind = wanted.split(":")[0] or next(name for name, found in there.items() if found)
    if kind not in there:
        raise CourseError(f"Unknown device {wanted!r} (from the argument or ${_DEVICE_ENV_VAR}): use 'cuda', 'mps' or 'cpu'.")
    if not there[kind]:
        missing = "no CUDA GPU is available" if kind == "cuda" else "Apple's Metal backend is not available"
        print(f"{wanted} was asked for but {missing}; using the CPU.")
        return torch.device("cpu")
    return torch.device(wanted or kind)


def device_info(device: torch.device | str | None = None) -> DeviceInfo:
    """Probe ``device`` (default: :func:`get_device`) and return what it is."""
    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return DeviceInfo(
            device=device,
            name=props.name,
            memory_gb=props.total_memory / 1024**3,
            capability=(props.major, props.minor),
        )
    if device.type == "mps":
        return DeviceInfo(device=device, name="Apple GPU")
    return DeviceInfo(device=device, name=f"{os.cpu_count()} CPU cores", cpu_bf16=cpu_has_native_bf16())


def describe_device(device: torch.device | str | None = None) -> str:
    """One line saying what was found, plus how to get a GPU on Colab when there is none."""
    info = device_info(device)
    line = info.describe()
    if info.device.type == "cpu" and _in_colab():
        line += "\n" + _COLAB_GPU_HINT
    return line
