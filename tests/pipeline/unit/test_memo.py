"""``shared.memo.BoundedMemo``: bounded, least recently used first out, safe from several threads."""

from __future__ import annotations

import threading

import pytest

from shared.memo import BoundedMemo


def test_the_least_recently_used_entry_goes_first() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "a" is now the most recently used
    memo.put("c", 3)
    assert memo.get("b") is None
    assert memo.get("a") == 1
    assert memo.get("c") == 3
    assert len(memo) == 2


def test_putting_a_kept_key_again_replaces_it_without_growing() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("a", 10)
    memo.put("c", 3)  # "b" is the least recently used now
    assert memo.get("a") == 10
    assert memo.get("b") is None
    assert len(memo) == 2


def test_discard_and_clear_forget() -> None:
    memo: BoundedMemo[tuple[str, str], tuple[str, ...]] = BoundedMemo(4)
    memo.put(("i", "c1"), ("q1",))
    memo.put(("i", "c2"), ("q2",))
    memo.discard(("i", "c1"))
    memo.discard(("i", "never kept"))
    assert memo.get(("i", "c1")) is None
    assert memo.get(("i", "c2")) == ("q2",)
    memo.clear()
    assert len(memo) == 0


def test_a_memo_must_hold_something() -> None:
    with pytest.raises(ValueError, match="positive"):
        BoundedMemo(0)


def test_threads_at_once_never_overfill_it() -> None:
    memo: BoundedMemo[int, int] = BoundedMemo(16)
    start = threading.Barrier(8)
    misses: list[int] = []
    wrong: list[str] = []  # an assert in a thread would not fail the test: collect, then assert here

    def work(worker: int) -> None:
        start.wait()
        for n in range(2_000):
            key = (worker * 7 + n) % 40
            value = memo.get(key)
            if value is None:
                misses.append(key)
                memo.put(key, key * 2)
            elif value != key * 2:
                wrong.append(f"{key} → {value}")
            if len(memo) > 16:
                wrong.append(f"{len(memo)} entries")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert len(memo) == 16
    assert misses  # 40 keys through 16 places: evictions happened, and every miss was refilled
