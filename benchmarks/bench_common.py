"""Helpers shared by the benchmark scripts: environment, memory, precision, FLOP counts, matmul peaks.

Imported by ``train_speed.py`` and ``predict_speed.py`` (both put ``benchmarks/`` and the
repository root on ``sys.path``); not part of ``course_utils``.

Training FLOPs (``training_flops``) follow the usual Kaplan et al. (2020) / Chinchilla
(Hoffmann et al., 2022) estimate, counted on real tokens only (padding is not useful work):

    per real token of a message of n real tokens:  6 * N  +  12 * n_layers * hidden * n

- ``6 * N``: forward (2 FLOPs per weight: a multiply and an add) plus backward (twice the
  forward), with N the model's non-embedding parameters (every parameter except those of
  ``nn.Embedding`` layers; for BERT that includes the pooler and classification head, which
  run once per message, a slight overcount: 0.15M of 10.8M for MiniLM-L6);
- ``12 * n_layers * hidden * n``: attention scores ``QK^T`` and the weighted sum of the
  values, ``2 * n * hidden`` FLOPs each per token per layer in the forward pass, times 3 for
  forward plus backward.

So a batch's useful work is ``6 * N * sum(n_i) + 12 * n_layers * hidden * sum(n_i ** 2)`` over
its messages' real lengths ``n_i``, whatever they were padded to.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass, field


def offline_by_default(model: str | None) -> None:
    """The packaged model needs no network: stay offline unless the caller asked for a hub model."""
    if model in (None, "packaged"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# --- one run per process ---------------------------------------------------------------------


def run_in_fresh_process(target, *args) -> dict:
    """``target(*args, queue)`` in a new (spawned) process; the dict it put on the queue.

    Each run starts from a clean interpreter, so memory figures and compiled kernels do not carry
    over; ``target`` puts ``{"error": ...}`` on the queue instead of hanging when it fails.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    row = queue.get()
    process.join()
    return row


# --- memory -----------------------------------------------------------------------------------


def rss_now_mb() -> float:
    """Resident memory of this process now, from /proc (Linux) or ru_maxrss as a fallback."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


# --- precision --------------------------------------------------------------------------------


def default_amp(device, no_amp: bool = False) -> str | None:
    """course_utils' default mixed precision on ``device``: "bf16", "fp16" or None (full precision).

    :attr:`course_utils.device.DeviceInfo.amp_dtype`: bf16 on a CUDA GPU of compute capability
    8.0+ and on a CPU with bf16 instructions (AVX-512 BF16 or AMX), fp16 on older GPUs, None
    elsewhere. ``no_amp`` forces None.
    """
    import torch

    from course_utils.device import device_info

    if no_amp or device.type not in ("cuda", "cpu"):
        return None
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(device_info(device).amp_dtype)


def precision_label(amp: str | None) -> str:
    return amp or "fp32"


class PrecisionProbe:
    """Records the dtype of the first ``nn.Linear``'s outputs while active: what precision really ran.

    Under bf16 autocast a Linear layer returns bfloat16, without it float32; the benchmark reports
    what it saw, not what it asked for (a Trainer that silently ignored ``bf16=True`` would show).
    """

    def __init__(self, model):
        import torch

        self.seen: set = set()
        self._handle = None
        linear = next((module for module in model.modules() if isinstance(module, torch.nn.Linear)), None)
        if linear is not None:
            self._handle = linear.register_forward_hook(lambda module, inputs, output: self.seen.add(output.dtype))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def label(self) -> str:
        import torch

        names = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
        return "+".join(sorted(names.get(dtype, str(dtype)) for dtype in self.seen)) or "unknown"


# --- FLOP counts ------------------------------------------------------------------------------


@dataclass
class TokenCounts:
    """Real (attention_mask == 1) and padded tokens of a set of batches, and the sum of squared real lengths."""

    real: int = 0
    padded: int = 0
    squared: int = 0  # sum over messages of (real length) ** 2, for the attention term
    messages: int = 0

    def add_mask(self, mask) -> None:
        lengths = mask.sum(dim=1).long()
        self.real += int(lengths.sum())
        self.squared += int((lengths * lengths).sum())
        self.padded += mask.numel()
        self.messages += int(mask.shape[0])

    @classmethod
    def of_batches(cls, batches) -> "TokenCounts":
        counts = cls()
        for batch in batches:
            counts.add_mask(batch["attention_mask"])
        return counts

    @property
    def efficiency(self) -> float:
        return self.real / self.padded if self.padded else 1.0


@dataclass(frozen=True)
class ModelShape:
    non_embedding_params: int
    n_layers: int
    hidden: int
    intermediate: int
    total_params: int = field(default=0)


def model_shape(model) -> ModelShape:
    """Non-embedding parameters (all but ``nn.Embedding`` layers'), layers, hidden and FFN sizes."""
    import torch

    embedding = sum(parameter.numel() for module in model.modules() if isinstance(module, torch.nn.Embedding)
                    for parameter in module.parameters(recurse=False))
    total = sum(parameter.numel() for parameter in model.parameters())
    config = model.config
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "dim", 0))
    return ModelShape(non_embedding_params=total - embedding,
                      n_layers=int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layers", 0)),
                      hidden=hidden,
                      intermediate=int(getattr(config, "intermediate_size", 0) or 4 * hidden),
                      total_params=total)


def training_flops(shape: ModelShape, counts: TokenCounts, epochs: int = 1) -> float:
    """Useful training FLOPs: ``6 N sum(n_i) + 12 n_layers hidden sum(n_i^2)``, times ``epochs`` (module docstring)."""
    per_epoch = 6 * shape.non_embedding_params * counts.real + 12 * shape.n_layers * shape.hidden * counts.squared
    return float(per_epoch) * epochs


# --- matmul peak ------------------------------------------------------------------------------


def matmul_rate(m: int, k: int, n: int, dtype, device, seconds: float = 1.5) -> float:
    """GFLOP/s of ``torch.matmul`` of an (m x k) by a (k x n) matrix, repeated for about ``seconds``.

    One call is ``2 m k n`` FLOPs. Inputs are random; the output buffer is reused (``out=``).
    On CUDA the clock is read after ``torch.cuda.synchronize()``.
    """
    import torch

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    a = torch.randn(m, k, device=device).to(dtype)
    b = torch.randn(k, n, device=device).to(dtype)
    out = torch.empty(m, n, device=device, dtype=dtype)
    torch.matmul(a, b, out=out)  # warm-up: kernels chosen, memory touched
    sync()
    calls, started = 0, time.perf_counter()
    burst = 1
    while True:
        for _ in range(burst):
            torch.matmul(a, b, out=out)
        sync()
        calls += burst
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
        per_call = elapsed / calls
        burst = max(1, min(1000, int(0.1 / per_call))) if per_call > 0 else 1000  # about 0.1 s between clock reads
    return 2.0 * m * k * n * calls / elapsed / 1e9


def matmul_peaks(device, dtypes: dict, shapes: list[tuple[int, int, int]], seconds: float = 1.5) -> dict:
    """For each ``{label: dtype}``: ``{"peak": best GFLOP/s, "rates": [(shape, GFLOP/s), ...]}``."""
    results = {}
    for label, dtype in dtypes.items():
        rates = [((m, k, n), matmul_rate(m, k, n, dtype, device, seconds)) for m, k, n in shapes]
        results[label] = {"peak": max(rate for _, rate in rates), "rates": rates}
    return results


def shape_text(shape: tuple[int, int, int]) -> str:
    m, k, n = shape
    return f"({m}x{k}) @ ({k}x{n})"
