import json
import logging
import tempfile
import unittest
from pathlib import Path

from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_order_journal import (
    RETENTION_SECONDS,
    OrderJournal,
    PlacedOrder,
)
from test.logger_mixin_for_test import LoggerMixinForTest


def placed(nonce: int, **changes) -> PlacedOrder:
    fields = dict(nonce=nonce, client_order_id=f"vest-{nonce}", trading_pair="BTC-USDC", trade_type="BUY",
                  order_type="LIMIT", amount="0.0100", price="30000.0", position_action="OPEN",
                  signed_until_ms=nonce + 10_000)
    fields.update(changes)
    return PlacedOrder(**fields)


class OrderJournalTests(LoggerMixinForTest, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)
        self.path = Path(self.folder.name) / "journal" / "orders.jsonl"
        self.now = 1_700_000_000.0
        self.logger = logging.getLogger("test.order_journal")
        self.set_loggers([self.logger])

    def open(self) -> OrderJournal:
        journal = OrderJournal(self.path, self.logger, clock=lambda: self.now)
        self.addCleanup(journal.close)
        return journal

    def test_every_fact_survives_the_process(self):
        journal = self.open()
        self.assertFalse(self.path.exists())  # nothing is written before the first order
        journal.record_placement(placed(1))
        journal.record_placement(placed(2))
        journal.record_placement(placed(3))
        journal.record_exchange_order_id(1, "0xa1")
        journal.record_exchange_order_id(1, "0xa1")  # nothing new: not written again
        journal.record_finished(2, "venue")
        journal.record_finished(3, "unreachable")
        journal.reopen(3)
        journal.record_exchange_order_id(99, "0xunknown")  # not ours: ignored
        journal.record_finished(99, "venue")
        self.assertEqual(7, len(self.path.read_text().splitlines()))

        again = self.open()  # as after a restart (or a kill -9: every line was flushed)
        self.assertEqual(placed(1, exchange_order_id="0xa1"), again.get(1))
        self.assertEqual((self.now, "venue"), (again.get(2).finished_at, again.get(2).outcome))
        self.assertEqual([1, 3], sorted(order.nonce for order in again.unfinished()))
        self.assertIsNone(again.get(None))
        self.assertIsNone(again.get(99))

    def test_finishing_twice_with_the_same_outcome_writes_once(self):
        journal = self.open()
        journal.record_placement(placed(1))
        journal.record_finished(1, "unreachable")
        journal.record_finished(1, "unreachable")
        journal.reopen(1)
        journal.reopen(1)
        self.assertEqual(3, len(self.path.read_text().splitlines()))

    def test_a_line_cut_short_by_a_kill_is_skipped_with_a_warning(self):
        journal = self.open()
        journal.record_placement(placed(1))
        journal.close()
        with self.path.open("a") as lines:
            lines.write(json.dumps({"placed": {"nonce": 2}}) + "\n")  # a record missing its fields
            lines.write('{"nonce": 1, "exchange_order_id": "0x')  # the last line of a killed process
        again = self.open()
        self.assertEqual([1], [order.nonce for order in again.unfinished()])
        self.assertTrue(self.is_partially_logged("WARNING", "Skipping line 2 of the order journal"))
        self.assertTrue(self.is_partially_logged("WARNING", "Skipping line 3 of the order journal"))

    def test_orders_finished_long_ago_are_dropped_when_the_journal_is_opened(self):
        journal = self.open()
        for nonce in (1, 2, 3):
            journal.record_placement(placed(nonce))
        journal.record_finished(1, "venue")
        self.now += RETENTION_SECONDS / 2
        journal.record_finished(2, "venue")
        journal.close()

        self.now += RETENTION_SECONDS / 2 + 1
        again = self.open()
        self.assertIsNone(again.get(1))
        self.assertEqual(2, again.get(2).nonce)  # finished, but recently
        self.assertEqual([3], [order.nonce for order in again.unfinished()])
        self.assertEqual(2, len(self.path.read_text().splitlines()))  # rewritten without the dropped order
        self.assertFalse(self.path.with_suffix(".tmp").exists())
