"""Admission control on its own: places inside, a bounded queue, and a refusal beyond both."""

from __future__ import annotations

import asyncio

import pytest

from plugins.channels.admission import Admission, Busy


async def test_beyond_the_places_and_the_queue_a_message_is_refused_at_once() -> None:
    gate, release = Admission(limit=2, queue=1, max_wait=5), asyncio.Event()
    results = []

    async def message(i: int) -> None:
        try:
            async with gate.admitted():
                await release.wait()
                results.append(("done", i))
        except Busy:
            results.append(("busy", i))

    tasks = [asyncio.create_task(message(i)) for i in range(5)]
    await asyncio.sleep(0.05)
    assert sorted(results) == [("busy", 3), ("busy", 4)]  # 2 inside, 1 waiting, 2 refused at once
    release.set()
    await asyncio.gather(*tasks)
    assert sorted(r for r in results if r[0] == "done") == [("done", 0), ("done", 1), ("done", 2)]


async def test_a_wait_longer_than_max_wait_is_refused() -> None:
    gate, release = Admission(limit=1, queue=5, max_wait=0.05), asyncio.Event()

    async def hold() -> None:
        async with gate.admitted():
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    with pytest.raises(Busy):
        async with gate.admitted():
            pass
    release.set()
    await holder
    async with gate.admitted():  # places come back after use
        pass


@pytest.mark.parametrize("limit,queue,wait", [(0, 1, 1), (1, -1, 1), (1, 1, 0)])
def test_nonsense_settings_are_refused(limit: int, queue: int, wait: float) -> None:
    with pytest.raises(ValueError):
        Admission(limit, queue, wait)
