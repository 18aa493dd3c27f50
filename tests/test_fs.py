"""Output safety helpers: atomic writes, folder removal that never follows a symlink, one run per folder."""

import json
import multiprocessing
import os

import numpy as np
import pytest

from lstm_ar.runtime import fs
from lstm_ar.runtime.fs import FolderLocked, OutputLock, UnsafePath


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_atomic_write_replaces_whole_files_and_keeps_the_suffix(tmp_path):
    target = tmp_path / "summary.json"
    fs.atomic_write_text(target, "old\n")
    fs.atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n" and _leftovers(tmp_path) == []
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~fs._umask())
    with fs.atomic_path(tmp_path / "arrays.npz") as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == tmp_path
        np.savez(tmp, x=np.arange(3))  # a str/Path ending in .npz: numpy adds no second suffix
    np.testing.assert_array_equal(np.load(tmp_path / "arrays.npz")["x"], np.arange(3))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("complete old report\n")
    with pytest.raises(KeyboardInterrupt), fs.atomic_path(target) as tmp:
        tmp.write_text("half a new rep")
        raise KeyboardInterrupt
    assert target.read_text() == "complete old report\n" and _leftovers(tmp_path) == []


def test_writes_through_a_symlink_are_refused(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").symlink_to(victim)
    with pytest.raises(UnsafePath, match="report.md.*symlink"):
        fs.atomic_write_text(out / "report.md", "overwritten")
    assert victim.read_text() == "precious" and (out / "report.md").is_symlink()
    (out / "scenario").symlink_to(tmp_path, target_is_directory=True)  # a linked folder below --out
    with pytest.raises(UnsafePath, match="scenario"):
        fs.atomic_write_text(out / "scenario" / "victim.txt", "overwritten", inside=out)
    assert victim.read_text() == "precious"
    with pytest.raises(UnsafePath, match="not inside"):
        fs.atomic_write_text(tmp_path / "elsewhere.txt", "x", inside=out)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fs.atomic_write_text(out / "missing" / "x.txt", "x")


def test_remove_tree_stays_inside_and_never_follows_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    out = tmp_path / "out"
    (out / "scenario").mkdir(parents=True)
    (out / "scenario" / ".chunks").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match=r"\.chunks"):
        fs.remove_tree(out / "scenario" / ".chunks", inside=out)
    with pytest.raises(UnsafePath, match=r"\.chunks"):
        fs.remove_tree(out / "scenario" / ".chunks" / "relu", inside=out)
    with pytest.raises(UnsafePath, match="not inside"):
        fs.remove_tree(outside, inside=out)
    with pytest.raises(UnsafePath, match="not inside"):
        fs.remove_tree(out, inside=out)
    with pytest.raises(UnsafePath, match="not inside"):
        fs.remove_tree(out / ".." / "outside", inside=out)
    assert (outside / "keep.txt").read_text() == "keep"

    real = out / "scenario" / "real"
    (real / "sub").mkdir(parents=True)
    (real / "sub" / "a.npz").write_bytes(b"x")
    (real / "link_to_outside").symlink_to(outside, target_is_directory=True)
    (real / "file_link").symlink_to(outside / "keep.txt")
    assert fs.remove_tree(real, inside=out) is True
    assert not real.exists() and (outside / "keep.txt").read_text() == "keep"
    assert fs.remove_tree(real, inside=out) is False  # already gone
    (out / "scenario" / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="file"):
        fs.remove_tree(out / "scenario" / "file", inside=out)


def test_the_output_folder_itself_may_be_a_link(tmp_path):
    disk = tmp_path / "big_disk"
    (disk / "scenario" / ".chunks").mkdir(parents=True)
    out = tmp_path / "out"
    out.symlink_to(disk, target_is_directory=True)
    assert fs.remove_tree(out / "scenario" / ".chunks", inside=out)
    assert not (disk / "scenario" / ".chunks").exists() and (disk / "scenario").is_dir()


def _try_lock(folder, queue):
    try:
        with OutputLock(folder, command="second run"):
            queue.put("locked")
    except FolderLocked as e:
        queue.put(str(e))


def test_a_second_run_on_a_locked_folder_is_refused_at_once(tmp_path):
    out = tmp_path / "out"
    with OutputLock(out, command="lstm-ar reproduce --out out") as lock:
        assert lock.held and out.is_dir()
        holder = json.loads((out / fs.LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["command"] == "lstm-ar reproduce --out out"
        with pytest.raises(FolderLocked, match=rf"pid {os.getpid()}.*since .*lstm-ar reproduce --out out"), \
                OutputLock(out):
            pass
        queue = multiprocessing.get_context("spawn").Queue()  # another process is refused as well
        proc = multiprocessing.get_context("spawn").Process(target=_try_lock, args=(out, queue))
        proc.start()
        message = queue.get(timeout=60)
        proc.join(60)
        assert "in use by another run" in message and "lstm-ar reproduce" in message
    assert not (out / fs.LOCK_NAME).exists()  # released: nothing left in the output folder
    with OutputLock(out):
        pass


def test_a_stale_lock_file_does_not_block_and_bad_folders_are_named(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / fs.LOCK_NAME).write_text(json.dumps({"pid": 999999, "command": "killed run"}))
    with OutputLock(out, command="new run"):
        assert json.loads((out / fs.LOCK_NAME).read_text())["command"] == "new run"
    afile = tmp_path / "a_file"
    afile.write_text("x")
    with pytest.raises(NotADirectoryError, match="a_file"), OutputLock(afile):
        pass
    (out / fs.LOCK_NAME).symlink_to(afile)
    with pytest.raises(UnsafePath, match="symlink"), OutputLock(out):
        pass
    assert afile.read_text() == "x"
