"""Executor scheduling: the admission gate, dedup keys, the result cache's resume rules."""

import threading
import time

from humanevalpack_metric.executor import ResultCache, _Gate, program_key
from humanevalpack_metric.outcome import Outcome, Status


def _run_concurrently(gate, durations, patience):
    running, peak, lock = [0], [0], threading.Lock()

    def task(seconds):
        with gate.admit() as park_after:
            park_after(patience)
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(seconds)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=task, args=(d,)) for d in durations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return peak[0]


def test_short_programs_respect_the_slot_count():
    assert _run_concurrently(_Gate(2, extra=4), [0.05] * 8, patience=5.0) == 2


def test_long_running_programs_give_their_slot_back_up_to_extra():
    # one slot; programs running past the patience park, letting the next ones start
    assert _run_concurrently(_Gate(1, extra=2), [0.6] * 5, patience=0.05) == 3


def test_gate_releases_everything_afterwards():
    gate = _Gate(1, extra=1)
    _run_concurrently(gate, [0.1, 0.1, 0.1], patience=0.01)
    assert gate._slots.acquire(blocking=False) and gate._extra.acquire(blocking=False)


def test_program_key_separates_language_mode_timeout_and_text():
    base = program_key("python", False, 10, "x")
    assert base == program_key("python", False, 10.0, "x")
    assert len({base, program_key("js", False, 10, "x"), program_key("python", True, 10, "x"),
                program_key("python", False, 5, "x"), program_key("python", False, 10, "y")}) == 5


def test_result_cache_resumes_and_skips_torn_lines_and_our_own_errors(tmp_path):
    path = tmp_path / "outcomes.jsonl"
    cache = ResultCache(path)
    cache.put("a", Outcome(Status.PASSED, duration=0.5))
    cache.put("b", Outcome(Status.COMPILE_ERROR, "bad syntax"))
    cache.put("c", Outcome(Status.ERROR, "sandbox broke"))  # retried next time, not persisted
    cache.close()
    with path.open("a") as handle:
        handle.write('{"key": "d", "pass')  # an interrupted write
    resumed = ResultCache(path)
    assert resumed.get("a").passed and resumed.get("a").duration == 0.5
    assert resumed.get("b").status is Status.COMPILE_ERROR
    assert resumed.get("b").result == "failed: compilation error: bad syntax"
    assert resumed.get("c") is None and resumed.get("d") is None
