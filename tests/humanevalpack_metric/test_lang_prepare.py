"""The once-per-cache build helper the compiled languages share (``languages/_prepare.py``)."""

import json
import multiprocessing
import time

from humanevalpack_metric.languages._prepare import ensure_built, read_stamp


def _slow_build(directory):
    with open(directory.parent / "builds.log", "a") as log:
        log.write("build\n")
    time.sleep(0.5)
    (directory / "artifact").write_text("made")
    return {"artifact": str(directory / "artifact")}


def _prepare(directory, queue):
    queue.put(ensure_built(directory, {"version": 1}, _slow_build))


def test_concurrent_processes_build_once_and_share_the_stamp(tmp_path):
    directory = tmp_path / "cache"
    queue = multiprocessing.get_context("fork").Queue()
    workers = [multiprocessing.get_context("fork").Process(target=_prepare, args=(directory, queue))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    stamps = [queue.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert (tmp_path / "builds.log").read_text() == "build\n"
    assert all(stamp == stamps[0] for stamp in stamps)
    assert stamps[0]["key"] == {"version": 1} and (directory / "artifact").read_text() == "made"


def test_a_new_key_rebuilds_and_a_half_built_directory_is_redone(tmp_path):
    directory = tmp_path / "cache"
    ensure_built(directory, {"version": 1}, _slow_build)
    ensure_built(directory, {"version": 1}, _slow_build)  # fast path: nothing to do
    ensure_built(directory, {"version": 2}, _slow_build)  # toolchain changed
    (directory / "stamp.json").unlink()  # as if a build died before its stamp
    (directory / "leftover").write_text("x")
    stamp = ensure_built(directory, {"version": 2}, _slow_build)
    assert (tmp_path / "builds.log").read_text() == "build\n" * 3
    assert not (directory / "leftover").exists()
    assert read_stamp(directory) == stamp == json.loads((directory / "stamp.json").read_text())
