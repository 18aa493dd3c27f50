"""The chunk store keeps results of different runs apart: every chunk records the run that wrote it,
``load`` checks it, a restarted folder stops the old writer, and nothing outside the output folder
is ever removed. No JAX here: chunks are plain numpy arrays."""

import io
import json
import shutil

import numpy as np
import pytest

from lstm_ar.runtime import fs
from lstm_ar.runtime.chunk_store import CHUNK_RECORD, ChunkStore, CorruptChunk, StoreMismatch, chunk_name, source_fingerprint

IDENTITY = {"scenario": "activation", "fingerprint": "abc"}


def leaves(start, stop, root_seed=0):
    """Two result leaves whose values say which run and seed they belong to."""
    seeds = np.arange(start, stop)
    return [(1000 * root_seed + seeds).astype(np.float32), np.stack([seeds, seeds], -1).astype(np.int32)]


def started(folder, root_seed=0, *, resume=False, identity=IDENTITY, **kwargs):
    store = ChunkStore(folder, identity, resume=resume, **kwargs)
    store.begin({"root_seed": root_seed, "lanes": 2}, log=None)
    return store


def test_chunks_round_trip_and_record_their_run(tmp_path):
    store = started(tmp_path / "store")
    path = store.save(0, leaves(0, 4))
    assert path.name == chunk_name(0, 4) and not [p for p in path.parent.iterdir() if ".tmp" in p.name]
    for got, want in zip(store.load(0, 4), leaves(0, 4)):
        np.testing.assert_array_equal(got, want)
    record = json.loads(str(np.load(path)[CHUNK_RECORD]))
    assert record["seeds"] == [0, 4] and record["leaves"] == 2 and record["run_id"] == store.run_id
    assert record["identity"] == {**IDENTITY, "code": source_fingerprint(), "root_seed": 0, "lanes": 2}
    resumed = started(tmp_path / "store", resume=True)
    assert resumed.run_id == store.run_id and resumed.finished_until() == 4
    np.testing.assert_array_equal(resumed.load(0, 4)[0], leaves(0, 4)[0])


def test_two_runs_racing_on_one_folder_never_mix(tmp_path):
    """Run A (root seed 0) is writing when run B (root seed 1) restarts the folder: A's next chunk
    is refused instead of landing among B's, and a chunk of A's found there later is refused."""
    folder = tmp_path / "store"
    a = started(folder, root_seed=0)
    a.save(0, leaves(0, 4, root_seed=0))
    b = started(folder, root_seed=1)  # a second run on the same --out starts over
    assert b.finished_until() == 0
    with pytest.raises(StoreMismatch, match="restarted by another run"):
        a.save(4, leaves(4, 8, root_seed=0))
    assert b.finished_until() == 0
    b.save(0, leaves(0, 4, root_seed=1))
    # a chunk of A's that reached the folder anyway (e.g. written before B's manifest) is refused on resume
    other = started(tmp_path / "other", root_seed=0)
    shutil.copy(other.save(4, leaves(4, 8, root_seed=0)), folder / chunk_name(4, 8))
    resumed = started(folder, root_seed=1, resume=True)
    assert resumed.finished() == [(0, 4), (4, 8)]
    np.testing.assert_array_equal(resumed.load(0, 4)[0], leaves(0, 4, root_seed=1)[0])
    with pytest.raises(StoreMismatch, match=r"seeds-000000004-000000008\.npz.*root_seed: 0 there, 1 in this run"):
        resumed.load(4, 8)


def test_a_chunk_copied_from_another_run_with_the_same_settings_is_refused(tmp_path):
    mine, theirs = started(tmp_path / "mine"), started(tmp_path / "theirs")
    mine.save(0, leaves(0, 4))
    shutil.copy(theirs.save(4, leaves(4, 8)), mine.folder)
    with pytest.raises(StoreMismatch, match=r"seeds-000000004-000000008\.npz.*copied in.*delete.*--fresh"):
        started(tmp_path / "mine", resume=True).load(4, 8)


def test_other_code_config_or_lanes_are_named(tmp_path):
    started(tmp_path / "s").save(0, leaves(0, 4))
    with pytest.raises(StoreMismatch, match="fingerprint"):
        started(tmp_path / "s", resume=True, identity={**IDENTITY, "fingerprint": "xyz"})
    store = started(tmp_path / "s", resume=True)
    store.identity = {**store.identity, "code": "0" * 64}  # the library changed since the chunk was written
    with pytest.raises(StoreMismatch, match="code"):
        store.load(0, 4)


def test_a_renamed_chunk_and_a_chunk_without_a_record_are_refused(tmp_path):
    store = started(tmp_path / "s")
    store.save(0, leaves(0, 4))
    (store.folder / chunk_name(0, 4)).rename(store.folder / chunk_name(4, 8))
    with pytest.raises(StoreMismatch, match=r"holds seeds \[0, 4\], not the \[4, 8\]"):
        store.load(4, 8)
    np.savez(store.folder / chunk_name(8, 12), **{"0": np.zeros(4), "1": np.zeros((4, 2))})  # as older versions did
    with pytest.raises(StoreMismatch, match=r"seeds-000000008-000000012\.npz records no run identity"):
        store.load(8, 12)


def test_a_corrupt_chunk_is_named_with_what_to_do(tmp_path):
    store = started(tmp_path / "s")
    path = store.save(0, leaves(0, 4))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated (a disk that filled up)
    with pytest.raises(CorruptChunk, match=r"seeds-000000000-000000004\.npz cannot be read.*delete .*--resume"):
        store.load(0, 4)
    path.write_bytes(b"not an npz at all")
    with pytest.raises(CorruptChunk, match="cannot be read"):
        store.load(0, 4)
    (store.folder / "manifest.json").write_text("{half a manif")
    with pytest.raises(CorruptChunk, match="manifest.json cannot be read"):
        started(store.folder, resume=True)


def test_a_killed_save_leaves_no_chunk(tmp_path, monkeypatch):
    store = started(tmp_path / "s")

    def half_then_killed(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", half_then_killed)
    with pytest.raises(KeyboardInterrupt):
        store.save(0, leaves(0, 4))
    assert sorted(p.name for p in store.folder.iterdir()) == ["manifest.json"]


def test_a_symlinked_chunk_folder_is_never_followed(tmp_path):
    """``<out>/<scenario>/.chunks`` linked to a folder outside ``--out``: nothing there is removed."""
    outside = tmp_path / "outside"
    (outside / "relu").mkdir(parents=True)
    (outside / "relu" / "precious.txt").write_text("keep me")
    out = tmp_path / "out"
    (out / "scenario").mkdir(parents=True)
    (out / "scenario" / ".chunks").symlink_to(outside, target_is_directory=True)
    store_dir = out / "scenario" / ".chunks" / "relu"
    with pytest.raises(fs.UnsafePath, match=r"\.chunks"):
        started(store_dir)  # default: the store's parent may not be a link
    with pytest.raises(fs.UnsafePath, match=r"\.chunks"):
        started(store_dir, inside=out)
    assert (outside / "relu" / "precious.txt").read_text() == "keep me"
    # the scenario folder linked instead: caught when the store knows its output folder
    shutil.rmtree(out / "scenario")
    (out / "scenario").symlink_to(outside, target_is_directory=True)
    (outside / ".chunks" / "relu").mkdir(parents=True)
    with pytest.raises(fs.UnsafePath, match="scenario"):
        started(out / "scenario" / ".chunks" / "relu", inside=out)
    assert (outside / ".chunks" / "relu").is_dir() and (outside / "relu" / "precious.txt").exists()


def test_a_fresh_run_discards_old_chunks_and_says_so(tmp_path):
    started(tmp_path / "s").save(0, leaves(0, 4))
    log = io.StringIO()
    store = ChunkStore(tmp_path / "s", IDENTITY)
    store.begin({"root_seed": 0, "lanes": 2}, log=log)
    assert store.finished_until() == 0 and "discarding 1" in log.getvalue() and "--resume" in log.getvalue()
    with pytest.raises(RuntimeError, match="before begin"):
        ChunkStore(tmp_path / "t", IDENTITY).save(0, leaves(0, 4))
    with pytest.raises(TypeError, match="dict"):
        ChunkStore(tmp_path / "t", ["not", "a", "dict"])


def test_a_corrupt_chunk_says_every_later_chunk_is_recomputed_too(tmp_path):
    """The message said only the deleted chunk's seeds are recomputed; a resumed run stops at the first gap."""
    store = started(tmp_path / "s")
    store.save(0, leaves(0, 4))
    path = store.save(4, leaves(4, 8))
    store.save(8, leaves(8, 12))
    path.write_bytes(b"not an npz at all")
    with pytest.raises(CorruptChunk, match="and every later chunk .* recomputes every seed from 4 on"):
        store.load(4, 8)
    path.unlink()
    assert store.finished() == [(0, 4)]  # the chunk after the gap is not kept


@pytest.mark.parametrize("inside", [False, True])
def test_a_folder_with_dot_dot_is_refused_before_anything_is_touched(tmp_path, inside):
    """A variant named '../../../victim' made the store delete <out>/../victim."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("precious")
    scenario = tmp_path / "out" / "s"
    folder = scenario / ".chunks" / ".." / ".." / ".." / "victim"
    with pytest.raises(fs.UnsafePath, match=r"'\.\.' component"):
        ChunkStore(folder, IDENTITY, inside=scenario if inside else None)
    assert (victim / "keep").read_text() == "precious"


def test_dot_dot_above_inside_is_fine(tmp_path, monkeypatch):
    """An output folder given as ../out is allowed: only components below ``inside`` count."""
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    store = started("../out/s/.chunks/v", inside="../out/s")
    store.save(0, leaves(0, 4))
    assert (tmp_path / "out" / "s" / ".chunks" / "v" / chunk_name(0, 4)).is_file()
