"""Which device to train on, and a one-line description of it (notebook 00).

Introduced in notebook 00 (setup). Nothing here runs at import time: the device is
probed only when :func:`get_device` or :func:`describe_device` is called.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch

__all__ = ["DeviceInfo", "cpu_has_native_bf16", "get_device", "device_info", "describe_device"]

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
        """The mixed-precision dtype to train with: bf16, fp16 (with a scaler), or None for full precision.

        CUDA: bf16 where the GPU has it, else fp16. CPU: bf16 where the CPU has native bf16
        instructions (measured faster at the same F1: ``benchmarks/README.md``), else None.
        Apple MPS: None.
        """
        if self.device.type == "cpu":
            return torch.bfloat16 if self.cpu_bf16 else None
        if self.device.type != "cuda":
            return None
        return torch.bfloat16 if self.bf16 else torch.float16

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


_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU has bf16 instructions: AVX-512 BF16 or AMX (notebook 00).

    Read from the ``flags`` lines of ``/proc/cpuinfo`` (Linux; pass its text to test).
    Elsewhere (macOS, Windows) False: those CPUs train in full precision. Without these
    instructions, bf16 autocast on a CPU is emulated and slower than float32.
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return any(flag in flags for flag in _CPU_BF16_FLAGS)


def _in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | None = None) -> torch.device:
    """The device to use: CUDA if present, else Apple MPS, else CPU (notebook 00).

    ``prefer`` (or the ``COURSE_DEVICE`` environment variable) forces one, for
    example ``"cpu"`` to compare speeds; asking for a device that is not there
    falls back to the CPU with a message rather than failing later.
    """
    wanted = (prefer or os.environ.get(_DEVICE_ENV_VAR) or "").strip().lower()
    if wanted:
        if wanted.startswith("cuda") and not torch.cuda.is_available():
            print(f"{wanted} was asked for but no CUDA GPU is available; using the CPU.")
            return torch.device("cpu")
        if wanted == "mps" and not _mps_available():
            print("mps was asked for but Apple's Metal backend is not available; using the CPU.")
            return torch.device("cpu")
        try:
            return torch.device(wanted)
        except RuntimeError as exc:
            from course_utils.errors import CourseError

            raise CourseError(
                f"Unknown device {wanted!r} (from the argument or ${_DEVICE_ENV_VAR}): "
                "use 'cuda', 'mps' or 'cpu'."
            ) from exc
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


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
