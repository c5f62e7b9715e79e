"""Stand-in for Hummingbot's `test/logger_mixin_for_test.py`, which its PyPI distribution leaves out.

Same interface and semantics as Hummingbot's helper, so the connector's tests pass there unchanged: the capture level
starts at NOTSET and becomes 1 (everything) on the first `set_loggers` call, unless the test already created
`log_records` itself; `wait_for_logged` fails the test when the message does not come.
"""
import asyncio
import logging
from logging import LogRecord
from typing import List, Union

from hummingbot.logger import HummingbotLogger

LevelOrName = Union[int, str]


class LogLevel:
    NOTSET = logging.NOTSET
    DEBUG = logging.DEBUG
    INFO = logging.INFO
    WARNING = logging.WARNING
    ERROR = logging.ERROR
    CRITICAL = logging.CRITICAL


class LoggerMixinForTest:
    """A logging handler that keeps every record it receives; mix into a test case and call `set_loggers`."""

    level: LevelOrName = LogLevel.NOTSET

    def _initialize(self):
        self.level = 1
        self.log_records: List[LogRecord] = []

    @staticmethod
    def _to_loglevel(log_level: LevelOrName) -> str:
        return logging.getLevelName(log_level) if isinstance(log_level, int) else log_level

    def set_loggers(self, loggers: Union[List[HummingbotLogger], HummingbotLogger]):
        if not hasattr(self, "log_records"):
            self._initialize()
        for logger in [loggers] if isinstance(loggers, HummingbotLogger) else loggers:
            if logger is not None:
                logger.setLevel(self.level)
                logger.addHandler(self)

    def handle(self, record: LogRecord):
        self.log_records.append(record)

    def is_logged(self, log_level: LevelOrName, message: str) -> bool:
        level_name = self._to_loglevel(log_level)
        return any(record.getMessage() == message and record.levelname == level_name for record in self.log_records)

    def is_partially_logged(self, log_level: LevelOrName, message: str) -> bool:
        level_name = self._to_loglevel(log_level)
        return any(message in record.getMessage() and record.levelname == level_name for record in self.log_records)

    async def wait_for_logged(self, log_level: LevelOrName, message: str, partial: bool = False,
                              wait_s: float = 3) -> None:
        check = self.is_partially_logged if partial else self.is_logged
        try:
            await asyncio.wait_for(self._until(lambda: check(log_level, message)), wait_s)
        except asyncio.TimeoutError:
            received = [record.getMessage() for record in self.log_records]
            fail = getattr(self, "fail", None)
            if not callable(fail):
                raise
            fail(f"Message: {message} was not logged.\nReceived Logs: {received}")

    @staticmethod
    async def _until(condition):
        while not condition():
            await asyncio.sleep(0.1)
