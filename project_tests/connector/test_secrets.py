"""No secret in any log line, repr, str or exception text, during a full session with faults.

The real connector runs against the simulator over loopback with a distinctive signing key and the API key the
simulator issued. The root logger and Hummingbot's loggers are at DEBUG and every record is captured, formatted
with its traceback (`exc_info`), stack and arguments. The session covers start, ready, MARKET and LIMIT orders,
fills, a cancel, faults (HTTP 429s, a lost order response, WebSocket drops, a listen key loss) and stop. Then the
captured text, the repr()/str() of the connector, its auth, its data sources, its in-flight orders and its events,
and the text of exceptions the key handling raises, are searched for the keys in every spelling (with and without
0x, lower and upper case).
"""
import asyncio
import logging
import pickle
import traceback
from decimal import Decimal
from typing import List, Set

from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_auth import SigningKey, VestPerpetualAuth
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative
from hummingbot.core.event.events import MarketOrderFailureEvent, OrderCancelledEvent, OrderFilledEvent
from project_tests.connector.fault_scenarios import BTC, EventRecorder, OrderFlow, eventually, private_stream_subscribed
from project_tests.connector.simulated_venue import SimulatedVenue, wait_until
from test.isolated_asyncio_wrapper_test_case import IsolatedAsyncioWrapperTestCase

# Distinctive and valid (below the secp256k1 order); never used anywhere else.
SIGNING_KEY = "0x" + "5ec2e7" * 10 + "5ec2"


class CapturingHandler(logging.Handler):
    """Keeps every record formatted as a log file would show it, plus its raw arguments and extras."""

    FORMAT = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
    STANDARD = set(vars(logging.makeLogRecord({})))

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: List[str] = []
        self.count = 0

    def emit(self, record: logging.LogRecord):
        self.count += 1
        parts = [self.FORMAT.format(record)]
        if record.stack_info:
            parts.append(record.stack_info)
        if record.args:
            parts.append(repr(record.args))
        parts.extend(repr(v) for k, v in vars(record).items() if k not in self.STANDARD)
        self.lines.append("\n".join(parts))


def spellings(secret: str) -> Set[str]:
    bare = secret[2:] if secret.lower().startswith("0x") else secret
    return {bare.lower(), bare.upper(), bare}


class SecretsTests(IsolatedAsyncioWrapperTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.handler = CapturingHandler()
        self.loggers = [logging.getLogger(), logging.getLogger("hummingbot"), logging.getLogger("aiohttp"),
                        logging.getLogger("asyncio")]
        self.levels = [logger.level for logger in self.loggers]
        for logger in self.loggers:
            logger.setLevel(logging.DEBUG)
        logging.getLogger().addHandler(self.handler)
        self.loop_errors: List[str] = []
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: self.loop_errors.append(
            repr(context) + "".join(traceback.format_exception(context["exception"]))
            if context.get("exception") else repr(context)))
        self.texts: List[str] = []

    async def asyncTearDown(self):
        logging.getLogger().removeHandler(self.handler)
        for logger, level in zip(self.loggers, self.levels):
            logger.setLevel(level)
        await super().asyncTearDown()

    def snapshot(self, connector: VestPerpetualDerivative, recorder: EventRecorder):
        """repr() and str() of everything a user or a log line could print."""
        objects = [connector, connector.authenticator, connector._orderbook_ds,
                   connector._user_stream_tracker.data_source, connector._user_stream_tracker,
                   connector._web_assistants_factory]
        objects += list(connector.in_flight_orders.values())
        objects += list(connector._order_tracker.cached_orders.values())
        objects += recorder.events
        for obj in objects:
            self.texts += [repr(obj), str(obj)]
        self.texts += [repr(order.to_json()) for order in connector.in_flight_orders.values()]
        self.texts.append(repr(connector.status_dict))
        self.texts.append(repr(connector.tracking_states))

    def exception_text(self, call) -> str:
        try:
            call()
        except Exception as error:
            return "".join(traceback.format_exception(error))
        return ""

    async def test_no_key_in_logs_reprs_or_exceptions_during_a_session_with_faults(self):
        venue = SimulatedVenue(trading_pairs=[BTC], seed=21, signing_key=SIGNING_KEY)
        await venue.start()
        api_key = venue.account.api_key
        connector, sim = venue.connector, venue.sim
        recorder = EventRecorder().attach(connector)
        flow = OrderFlow(venue)
        try:
            await wait_until(lambda: BTC in connector._perpetual_trading.funding_info, what="funding info")
            self.snapshot(connector, recorder)

            # Orders, fills and a cancel.
            flow.place(BTC, "market", True)
            flow.place(BTC, "market", False)
            resting = flow.place(BTC, "resting-limit", True)
            await wait_until(lambda: resting in connector.in_flight_orders
                             and connector.in_flight_orders[resting].exchange_order_id is not None, what="resting")
            self.snapshot(connector, recorder)
            connector.cancel(BTC, resting)
            await wait_until(lambda: recorder.of(OrderCancelledEvent), what="cancel")

            # Faults: refused and rate-limited requests (orders among them), an order Vest rejects, a lost order
            # response, dropped sockets, a listen key deleted by the venue, and a forced status poll under errors.
            sim.faults.set(http_error_rate=0.5, http_error_status=429, seed=4)
            for _ in range(4):
                flow.place(BTC, "market", True)
                connector._poll_notifier.set()
                await asyncio.sleep(0.3)
            sim.faults.set(http_error_rate=0.5, http_error_status=503, seed=5)
            for _ in range(2):
                connector._poll_notifier.set()
                await asyncio.sleep(0.3)
            sim.faults.set(http_error_rate=0.0)
            flow.place(BTC, "market", True, amount=Decimal("100000"))
            await wait_until(lambda: recorder.of(MarketOrderFailureEvent), what="margin rejection")
            sim.faults.set(drop_order_response=1)
            lost = flow.place(BTC, "resting-limit", False)
            await wait_until(lambda: lost in connector.in_flight_orders
                             and connector.in_flight_orders[lost].exchange_order_id is not None, timeout=15,
                             what="recovered order")
            self.snapshot(connector, recorder)
            connector.cancel(BTC, lost)
            await sim.drop_websockets()
            sim.engine.listen_key_delete(sim.engine.accounts[venue.account.primary_address.lower()])
            sim.schedule_listen_key_sweep()
            await eventually(lambda: private_stream_subscribed(venue), timeout=10)
            flow.place(BTC, "market", False)
            await eventually(lambda: len(recorder.of(OrderFilledEvent)) >= 3, timeout=10)
            self.snapshot(connector, recorder)
        finally:
            flow.stop()
            await venue.close()
        self.snapshot(connector, recorder)

        # Exceptions the key handling raises.
        wrong_key = SIGNING_KEY[:-2] + "zz"
        self.texts.append(self.exception_text(lambda: VestPerpetualAuth(api_key, wrong_key)))
        self.texts.append(self.exception_text(lambda: SigningKey(SIGNING_KEY[:-1])))
        self.texts.append(self.exception_text(lambda: pickle.dumps(connector.authenticator._signing_key)))
        self.texts.append(self.exception_text(lambda: VestPerpetualDerivative(
            vest_perpetual_api_key=api_key, vest_perpetual_signing_private_key=wrong_key)))
        self.texts += [event.error_message or "" for event in recorder.of(MarketOrderFailureEvent)]

        # The session really happened and was really logged at DEBUG.
        self.assertGreater(len(recorder.of(OrderFilledEvent)), 2)
        self.assertGreater(len(recorder.of(MarketOrderFailureEvent)), 0)
        self.assertGreater(self.handler.count, 50)
        self.assertTrue(any(" DEBUG " in line for line in self.handler.lines), "DEBUG records were not captured")
        self.assertTrue(any(r.startswith("Traceback") or "Traceback" in r for r in self.handler.lines),
                        "no record carried a traceback: exc_info text was not exercised")

        corpus = {"log records": self.handler.lines, "loop exceptions": self.loop_errors,
                  "repr/str/exceptions": self.texts}
        for secret_name, secret in (("signing key", SIGNING_KEY), ("api key", api_key)):
            for where, texts in corpus.items():
                leaks = [text for text in texts if any(s in text for s in spellings(secret))]
                self.assertEqual([], leaks[:3], f"the {secret_name} appears in {len(leaks)} of the {where}")
