"""Log-capturing mixin with the interface Hummingbot's own tests use (`is_logged`, `wait_for_logged`)."""
import asyncio
import logging
from typing import List, Optional, Sequence, Union


class LogLevel:
    NOTSET = logging.NOTSET
    DEBUG = logging.DEBUG
    INFO = logging.INFO
    WARNING = logging.WARNING
    ERROR = logging.ERROR
    CRITICAL = logging.CRITICAL


def _level_name(level: Union[int, str]) -> str:
    return level if isinstance(level, str) else logging.getLevelName(level)


class LoggerMixinForTest:
    """Acts as a logging handler: attach with `set_loggers` and inspect `log_records`."""

    level: int = 1

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log_records: List[logging.LogRecord] = []

    def handle(self, record: logging.LogRecord) -> None:
        self.log_records.append(record)

    def set_loggers(self, loggers: Sequence[Optional[logging.Logger]]) -> None:
        for logger in loggers:
            if logger is not None:
                logger.setLevel(self.level)
                logger.addHandler(self)

    def is_logged(self, log_level: Union[int, str], message: str) -> bool:
        name = _level_name(log_level)
        return any(r.levelname == name and r.getMessage() == message for r in self.log_records)

    def is_partially_logged(self, log_level: Union[int, str], message: str) -> bool:
        name = _level_name(log_level)
        return any(r.levelname == name and message in r.getMessage() for r in self.log_records)

    async def wait_for_logged(self, log_level: Union[int, str], message: str, partial: bool = False,
                              wait_s: float = 3.0) -> None:
        """Waits until a message is logged; raises asyncio.TimeoutError after `wait_s`."""
        check = self.is_partially_logged if partial else self.is_logged

        async def poll():
            while not check(log_level, message):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), wait_s)
