"""Running the client's async code from sync code: scripts, and also code already inside a
running event loop (a notebook), where ``asyncio.run`` would refuse.

:func:`run_sync` runs a coroutine to its end (in a helper thread when this thread has a running
loop); :func:`stream_sync` iterates an async generator from sync code, its loop in a helper
thread, and cancels it when the consumer stops early.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_sync(coroutine):
    """``asyncio.run(coroutine)``, in a helper thread if this thread's loop is running."""
    if running_loop() is None:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="generation") as pool:
        return pool.submit(asyncio.run, coroutine).result()


_END = object()


@dataclasses.dataclass
class Crashed:
    """An exception crossing from a worker or a helper thread to the consumer."""

    error: BaseException


def stream_sync(agen: AsyncIterator) -> Iterator:
    """Iterate an async generator from sync code: its loop runs in a helper thread."""
    items: queue.Queue = queue.Queue(maxsize=1024)
    stop = threading.Event()
    state: dict[str, Any] = {}

    async def deliver(item: Any) -> bool:
        """Hand ``item`` over, waiting while the queue is full; False once the consumer left."""
        while not stop.is_set():
            try:
                items.put_nowait(item)
                return True
            except queue.Full:
                await asyncio.sleep(0.01)
        return False

    async def pump() -> None:
        state["task"] = asyncio.current_task()
        state["loop"] = asyncio.get_running_loop()
        try:
            async for item in agen:
                if not await deliver(item):
                    return
        except BaseException as error:  # handed to the consumer
            await deliver(Crashed(error))
            return
        finally:
            await agen.aclose()
        await deliver(_END)

    thread = threading.Thread(target=asyncio.run, args=(pump(),), name="generation-stream",
                              daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, Crashed):
                raise item.error
            yield item
    finally:
        stop.set()
        loop, task = state.get("loop"), state.get("task")
        if loop is not None and task is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        thread.join()
