"""Group commit: threads that arrive while a batch is written go together in the next one."""
import threading
import time

import pytest

from actors.group_commit import GroupCommit


def test_a_lone_item_is_written_at_once_in_a_batch_of_its_own():
    batches = []
    group = GroupCommit(lambda items: batches.append(list(items)) or [i * 2 for i in items])
    assert group.submit(21) == 42
    assert batches == [[21]]


def test_threads_arriving_during_a_write_share_the_next_batch_and_get_their_own_results():
    batches, first_started, release = [], threading.Event(), threading.Event()

    def run(items):
        batches.append(list(items))
        if len(batches) == 1:  # hold the first write until the others are waiting
            first_started.set()
            release.wait(5)
        return [f"done {item}" for item in items]

    group = GroupCommit(run)
    results = {}

    def submit(item):
        results[item] = group.submit(item)

    leader = threading.Thread(target=submit, args=(0,))
    leader.start()
    first_started.wait(5)
    others = [threading.Thread(target=submit, args=(n,)) for n in range(1, 9)]
    for thread in others:
        thread.start()
    while len(group._waiting) < 8:  # all eight queued behind the write in progress
        time.sleep(0.001)
    release.set()
    for thread in [leader, *others]:
        thread.join(5)
    assert batches[0] == [0]
    assert sorted(batches[1]) == list(range(1, 9))  # one transaction for the eight
    assert results == {n: f"done {n}" for n in range(9)}


def test_a_batch_that_fails_fails_every_item_in_it_and_the_next_batch_still_runs():
    calls = []

    def run(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return list(items)

    group = GroupCommit(run)
    with pytest.raises(ConnectionError):
        group.submit("a")
    assert group.submit("b") == "b"


def test_an_exception_in_an_items_place_is_raised_in_that_items_thread_only():
    group = GroupCommit(lambda items: [LookupError(i) if i == "bad" else i for i in items])
    with pytest.raises(LookupError):
        group.submit("bad")
    assert group.submit("good") == "good"


def test_batches_are_no_larger_than_max_size():
    sizes, gate = [], threading.Event()

    def run(items):
        sizes.append(len(items))
        gate.wait(5)
        return list(items)

    group = GroupCommit(run, max_size=3)
    threads = [threading.Thread(target=group.submit, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    while len(group._waiting) < 9:
        time.sleep(0.001)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert sum(sizes) == 10 and max(sizes) == 3


def test_an_item_put_without_waiting_goes_with_the_next_batch_and_its_wait_writes_nothing_more():
    batches = []
    group = GroupCommit(lambda items: batches.append(list(items)) or [i * 2 for i in items])
    early = group.put(1)
    assert batches == []  # nobody waits for it yet: nothing is written for it alone
    assert group.submit(2) == 4
    assert batches == [[1, 2]]
    assert group.wait(early) == 2
    assert batches == [[1, 2]]


def test_an_item_nobody_else_writes_is_written_by_its_own_wait():
    batches = []
    group = GroupCommit(lambda items: batches.append(list(items)) or list(items))
    pending = [group.put(n) for n in range(3)]
    assert [group.wait(p) for p in pending] == [0, 1, 2]
    assert batches == [[0, 1, 2]]


class FirstWriteHeld:
    """A group whose first batch ("first", from a thread of its own) is held mid-write
    until ``release()``: what arrives meanwhile queues behind it."""

    def __init__(self):
        self.batches, self._started, self._release = [], threading.Event(), threading.Event()
        self.group = GroupCommit(self._run)
        self.leader = threading.Thread(target=self.group.submit, args=("first",))
        self.leader.start()
        self._started.wait(5)

    def _run(self, items):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self._started.set()
            self._release.wait(5)
        return list(items)

    def release(self):
        self._release.set()
        self.leader.join(5)


def test_the_writers_role_goes_to_a_waiting_thread_never_to_an_item_whose_thread_is_away():
    held = FirstWriteHeld()
    group = held.group
    away = group.put("away")  # its thread goes on sending; it does not wait
    waiter_result = {}
    waiter = threading.Thread(target=lambda: waiter_result.update(r=group.submit("waiting")))
    waiter.start()
    while len(group._waiting) < 2:
        time.sleep(0.001)
    held.release()
    waiter.join(5)
    # Handed to "away" the role would sit unused and "waiting" would hang.
    assert not waiter.is_alive() and waiter_result == {"r": "waiting"}
    assert held.batches == [["first"], ["away", "waiting"]]
    assert group.wait(away) == "away"


def test_after_a_write_with_only_absent_items_left_the_next_wait_writes_them():
    held = FirstWriteHeld()
    away = held.group.put("away")
    held.release()
    assert held.group.wait(away) == "away"
    assert held.batches == [["first"], ["away"]]
