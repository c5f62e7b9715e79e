"""Event-loop test bases that `hummingbot.connector.test_support` imports from a top-level `test` package.

The PyPI distribution of Hummingbot leaves its `test/` folder out, so the project provides these helpers itself,
with the names and behaviour Hummingbot's shipped test suites expect.
"""
import asyncio
import functools
import unittest
from typing import Any, Awaitable, Callable, Iterable, Optional, Union


def _current_or_new_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop


class IsolatedAsyncioWrapperTestCase(unittest.IsolatedAsyncioTestCase):
    """`IsolatedAsyncioTestCase` that restores the caller's event loop once the class is done."""

    main_event_loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.main_event_loop = _current_or_new_loop()

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.main_event_loop is not None and not cls.main_event_loop.is_closed():
            asyncio.set_event_loop(cls.main_event_loop)
        cls.main_event_loop = None
        super().tearDownClass()

    @staticmethod
    async def await_task_completion(coroutine_names: Union[str, Iterable[str]]) -> None:
        """Waits for every running task whose coroutine has one of the given names."""
        names = {coroutine_names} if isinstance(coroutine_names, str) else set(coroutine_names)
        tasks = [task for task in asyncio.all_tasks()
                 if task is not asyncio.current_task() and task.get_coro().__name__ in names]
        if tasks:
            await asyncio.gather(*tasks)

    def run_async_with_timeout(self, coroutine: Awaitable, timeout: float = 1.0) -> Any:
        """Runs a coroutine on the test's loop from a synchronous test method."""
        return self._asyncioRunner.get_loop().run_until_complete(asyncio.wait_for(coroutine, timeout))


class LocalClassEventLoopWrapperTestCase(unittest.TestCase):
    """`TestCase` with one private event loop per class."""

    main_event_loop: Optional[asyncio.AbstractEventLoop] = None
    local_event_loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.main_event_loop = _current_or_new_loop()
        cls.local_event_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(cls.local_event_loop)

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.local_event_loop is not None:
            cls.local_event_loop.close()
        if cls.main_event_loop is not None:
            asyncio.set_event_loop(cls.main_event_loop)
        cls.local_event_loop = None
        cls.main_event_loop = None
        super().tearDownClass()

    def run_async_with_timeout(self, coroutine: Awaitable, timeout: float = 1.0) -> Any:
        return self.local_event_loop.run_until_complete(asyncio.wait_for(coroutine, timeout))


class LocalTestEventLoopWrapperTestCase(unittest.TestCase):
    """`TestCase` with a fresh private event loop per test."""

    main_event_loop: Optional[asyncio.AbstractEventLoop] = None
    local_event_loop: Optional[asyncio.AbstractEventLoop] = None

    def setUp(self) -> None:
        super().setUp()
        type(self).main_event_loop = _current_or_new_loop()
        self.local_event_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.local_event_loop)

    def tearDown(self) -> None:
        if self.local_event_loop is not None:
            self.local_event_loop.close()
        self.local_event_loop = None
        if self.main_event_loop is not None:
            asyncio.set_event_loop(self.main_event_loop)
        super().tearDown()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.main_event_loop = None
        super().tearDownClass()

    def run_async_with_timeout(self, coroutine: Awaitable, timeout: float = 1.0) -> Any:
        return self.local_event_loop.run_until_complete(asyncio.wait_for(coroutine, timeout))


def async_to_sync(func: Callable[..., Awaitable]) -> Callable[..., Any]:
    """Runs an async function to completion on a private loop, leaving the caller's loop untouched."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            previous = asyncio.get_event_loop()
        except RuntimeError:
            previous = None
        loop = asyncio.new_event_loop()
        try:
            asyncio.set_event_loop(loop)
            return loop.run_until_complete(func(*args, **kwargs))
        finally:
            loop.close()
            asyncio.set_event_loop(previous)

    return wrapper
