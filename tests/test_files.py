"""course_utils.files: atomic writes that leave normal permissions, and the writers that use them."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from course_utils.files import atomic_folder, _atomic_write_bytes, atomic_write_text


@pytest.fixture
def umask_022():
    """Run the test under the usual umask 022 (new files 0644, new folders 0755), then restore the caller's."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_write_text_replaces_whole_and_leaves_normal_permissions(tmp_path, umask_022):
    target = tmp_path / "notes.txt"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o600)  # what it replaces does not matter: the new file is a new file
    atomic_write_text(target, "new ✓\n")
    assert target.read_text(encoding="utf-8") == "new ✓\n"
    assert mode(target) == 0o644
    assert os.listdir(tmp_path) == ["notes.txt"]  # no temporary file left beside it


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")

    with pytest.raises(TypeError):
        _atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]  # fails inside the write
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_atomic_folder_swaps_in_a_whole_folder_with_normal_permissions(tmp_path, umask_022):
    target = tmp_path / "saved"
    with atomic_folder(target) as folder:
        (folder / "a.txt").write_text("1")
        (folder / "weights").mkdir()
        (folder / "weights" / "w.bin").write_bytes(b"w")
        os.chmod(folder / "weights" / "w.bin", 0o600)  # as safetensors' save_file leaves its files
        assert not target.exists()  # nothing at the target until the block ends
    assert mode(target) == 0o755 and mode(target / "weights") == 0o755
    assert mode(target / "a.txt") == 0o644 and mode(target / "weights" / "w.bin") == 0o644
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as folder:
            (folder / "b.txt").write_text("2")
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == ["saved"] and sorted(os.listdir(target)) == ["a.txt", "weights"]  # the old one
    with atomic_folder(target) as folder:
        (folder / "b.txt").write_text("2")
    assert os.listdir(target) == ["b.txt"] and sorted(os.listdir(tmp_path)) == ["saved"]


def test_predict_output_csv_is_0644(tmp_path, umask_022):
    """`predict --output` used to write its CSV as 0600 (mkstemp) under umask 022."""
    from course_utils.cli import _write_csv_atomically

    written = _write_csv_atomically(pd.DataFrame({"text": ["hi"], "label": ["ham"]}), tmp_path / "out.csv",
                                   overwrite=False)
    assert mode(written) == 0o644
    assert written.read_text(encoding="utf-8") == "text,label\nhi,ham\n"


def test_checkpoint_folders_are_0755(tmp_path, umask_022):
    """Checkpoint folders used to stay 0700 (mkdtemp) under umask 022."""
    import torch

    from course_utils import training

    import accelerate

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    accelerator = accelerate.Accelerator(cpu=True)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    from types import SimpleNamespace

    run = SimpleNamespace(raw_model=model, optimizer=optimizer, scheduler=scheduler, accelerator=accelerator,
                          settings=training.TrainSettings(), metric="f1", num_labels=2, train_loader=[0, 1])
    for _ in range(2):  # the second save replaces the first
        training._save_checkpoint(run, tmp_path / "run", training._RunState(epoch=1), None)
    last = tmp_path / "run" / "last"
    assert os.listdir(tmp_path / "run") == ["last"]
    assert mode(last) == 0o755
    assert {name: mode(last / name) for name in os.listdir(last)} == {
        "pytorch_model.bin": 0o644, "optimizer.bin": 0o644, "scheduler.bin": 0o644, "random_states_0.pkl": 0o644,
        "state.json": 0o644}
