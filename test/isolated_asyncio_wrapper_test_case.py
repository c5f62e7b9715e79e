"""Stand-in for Hummingbot's `test/isolated_asyncio_wrapper_test_case.py`, which its PyPI distribution leaves out
(`hummingbot.connector.test_support` imports it from a top-level `test` package).

Same names and semantics as Hummingbot's helper, so the connector's tests pass there unchanged.
"""
import asyncio
import functools
import unittest
from typing import Any, Awaitable, Callable, List, Optional, Union


def _current_or_new_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop


def _restore(loop: Optional[asyncio.AbstractEventLoop]):
    asyncio.set_event_loop(loop if loop is not None and not loop.is_closed() else asyncio.new_event_loop())


def async_to_sync(func: Callable[..., Awaitable]) -> Callable[..., Any]:
    """Runs a coroutine function to completion from synchronous code, on the current loop if there is one."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return asyncio.run(func(*args, **kwargs))
        return loop.run_until_complete(func(*args, **kwargs))

    return wrapper


class IsolatedAsyncioWrapperTestCase(unittest.IsolatedAsyncioTestCase):
    """`IsolatedAsyncioTestCase` that gives the loop it found back after each test and after the class."""

    main_event_loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def setUpClass(cls) -> None:
        cls.main_event_loop = _current_or_new_loop()
        super().setUpClass()

    def setUp(self) -> None:
        self.local_event_loop = asyncio.get_event_loop()
        assert self.local_event_loop is not self.main_event_loop
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        _restore(self.main_event_loop)

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        _restore(cls.main_event_loop)

    def run_async_with_timeout(self, coroutine: Awaitable, timeout: float = 1.0) -> Any:
        return self.local_event_loop.run_until_complete(asyncio.wait_for(coroutine, timeout=timeout))

    @staticmethod
    async def await_task_completion(tasks_name: Optional[Union[str, List[str]]]) -> None:
        """Waits for the running tasks whose coroutine function has one of the given names."""
        if tasks_name is None:
            return
        names = {tasks_name} if isinstance(tasks_name, str) else set(tasks_name)
        tasks = {task for task in asyncio.all_tasks() if task.get_coro().cr_code.co_name in names}
        if tasks:
            await asyncio.wait(tasks)


class LocalClassEventLoopWrapperTestCase(unittest.TestCase):
    """`TestCase` whose tests share one private event loop, closed with the class."""

    main_event_loop: Optional[asyncio.AbstractEventLoop] = None
    local_event_loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        try:
            cls.main_event_loop = asyncio.get_event_loop()
        except RuntimeError:
            cls.main_event_loop = asyncio.new_event_loop()
        cls.local_event_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(cls.local_event_loop)

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.local_event_loop is not None:
            _close(cls.local_event_loop)
            cls.local_event_loop = None
        asyncio.set_event_loop(cls.main_event_loop)
        cls.main_event_loop = None
        super().tearDownClass()

    def run_async_with_timeout(self, coroutine: Awaitable, timeout: float = 1.0) -> Any:
        return self.local_event_loop.run_until_complete(asyncio.wait_for(coroutine, timeout=timeout))


class LocalTestEventLoopWrapperTestCase(unittest.TestCase):
    """`TestCase` with a fresh private event loop per test."""

    main_event_loop: Optional[asyncio.AbstractEventLoop] = None
    local_event_loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        try:
            cls.main_event_loop = asyncio.get_event_loop()
        except RuntimeError:
            cls.main_event_loop = None

    def setUp(self) -> None:
        super().setUp()
        self.local_event_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.local_event_loop)

    def tearDown(self) -> None:
        if self.local_event_loop is not None:
            _close(self.local_event_loop)
            self.local_event_loop = None
        super().tearDown()

    @classmethod
    def tearDownClass(cls) -> None:
        _restore(cls.main_event_loop)
        cls.main_event_loop = None
        super().tearDownClass()

    def run_async_with_timeout(self, coroutine: Awaitable, timeout: float = 1.0) -> Any:
        return self.local_event_loop.run_until_complete(asyncio.wait_for(coroutine, timeout=timeout))


def _close(loop: asyncio.AbstractEventLoop):
    """Cancels what still runs on the loop, then closes it."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
