"""Hypothesis property tests of `vest_perpetual_messages`, kept out of Hummingbot's tree (hypothesis is not one of
Hummingbot's dependencies).

The documented shapes come from the in-tree unit tests (`test_vest_perpetual_messages`), which also run the
deterministic version of the damage checks. Properties here:
- every parser returns or raises VestMessageError, whatever JSON it is given (random or a damaged documented shape);
- `decode_frame` / `parse_push` accept every frame form of §5.1 alike (parsed JSON, text, binary UTF-8, Brotli) and
  fail only with VestMessageError;
- `parse_error_envelope` never raises and always gives an error for an HTTP status >= 400 (§3.12);
- every depth level reads exactly as `float(text)` reads its price and size, or the message is refused (§2.7, §5.3).
Examples are derandomized, so runs are reproducible.
"""
import copy
import json
import math
import unittest

import brotli
from hypothesis import HealthCheck, given, settings, strategies as st

from hummingbot.connector.derivative.vest_perpetual import vest_perpetual_messages as messages
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import VestAPIError, VestMessageError
from hummingbot.core.data_type.order_book_row import OrderBookRow
from test.hummingbot.connector.derivative.vest_perpetual import test_vest_perpetual_messages as documented

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.too_slow])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25)
# JSON that survives a json.dumps / json.loads round trip unchanged (no NaN, which never equals itself).
PLAIN_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 63) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15)

FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def mutated(draw, document):
    """The document with one to three fields removed or replaced by a random JSON value."""
    value = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(documented._paths(value))
        if not paths:
            break
        prefix, key = draw(st.sampled_from(paths))
        container = value
        for part in prefix:
            container = container[part]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(JSON)
    return value


def frames_of(message):
    """The forms in which Hummingbot's WSConnection can hand one JSON message over (§5.1)."""
    text = json.dumps(message, ensure_ascii=False)
    return [message, text, text.encode("utf-8"), bytearray(text.encode("utf-8")), brotli.compress(text.encode("utf-8"))]


class MessagesPropertyTest(unittest.TestCase):
    def _check(self, parser, payload):
        try:
            parser(payload)
        except VestMessageError:
            pass
        except Exception as error:  # noqa: BLE001 - the property under test
            self.fail(f"{parser.__name__} raised {type(error).__name__}: {error} for {payload!r}")

    @PROPERTY_SETTINGS
    @given(JSON)
    def test_random_json(self, payload):
        for parser in documented.PARSERS:
            self._check(parser, payload)

    @settings(PROPERTY_SETTINGS, max_examples=100)
    @given(st.data())
    def test_documented_payloads_with_damage(self, data):
        for parser, document in documented.PARSERS.items():
            self._check(parser, data.draw(mutated(document), label=parser.__name__))

    @PROPERTY_SETTINGS
    @given(st.one_of(st.binary(max_size=64), st.text(max_size=64),
                     JSON.map(lambda value: brotli.compress(json.dumps(value).encode()))))
    def test_decode_frame(self, frame):
        self._check(messages.decode_frame, frame)
        self._check(messages.parse_push, frame)

    @PROPERTY_SETTINGS
    @given(PLAIN_JSON)
    def test_decode_frame_reads_every_form_of_a_json_value_alike(self, value):
        for frame in frames_of(value)[1:]:
            self.assertEqual(value, messages.decode_frame(frame), frame)

    @PROPERTY_SETTINGS
    @given(st.text(max_size=20), PLAIN_JSON, st.dictionaries(st.text(max_size=8), PLAIN_JSON, max_size=3))
    def test_a_push_reads_alike_in_every_frame_form(self, channel, data, extra):
        message = {**extra, "channel": channel, "data": data}
        for frame in frames_of(message):
            self.assertEqual((channel, data), messages.parse_push(frame), frame)

    @PROPERTY_SETTINGS
    @given(st.one_of(JSON, st.dictionaries(st.sampled_from(["channel", "data", "result", "id"]), JSON, max_size=4)))
    def test_parse_push_gives_none_a_pair_or_a_message_error(self, message):
        try:
            result = messages.parse_push(message)
        except VestMessageError:
            return
        if not isinstance(message, dict):  # random text that happened to be JSON
            self.assertTrue(result is None or isinstance(result[0], str))
        elif result is None:  # a PONG or an ack (§5.2), never a channel message
            self.assertNotIn("channel", message)
        else:
            self.assertEqual((message["channel"], message.get("data")), result)
            self.assertIsInstance(result[0], str)

    @PROPERTY_SETTINGS
    @given(st.one_of(JSON, mutated(documented.ERROR_422), mutated({"detail": {"code": 1022, "msg": "m"}}),
                     mutated({"code": 3017, "msg": "m"})),
           st.one_of(st.none(), st.integers(min_value=100, max_value=599)))
    def test_error_envelope_never_raises(self, payload, status):
        try:
            result = messages.parse_error_envelope(payload, status)
        except Exception as error:  # noqa: BLE001 - the property under test
            self.fail(f"parse_error_envelope raised {type(error).__name__}: {error} for {payload!r}")
        self.assertTrue(result is None or isinstance(result, VestAPIError))
        if status is not None and status >= 400:
            self.assertIsInstance(result, VestAPIError)

    # Booleans are left out: `float(True)` is 1.0, and whether a JSON `true` may stand for a price is not settled.
    @PROPERTY_SETTINGS
    @given(st.lists(st.lists(st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str),
        st.floats(allow_nan=True, allow_infinity=True, width=64),
        st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
        st.sampled_from(["NaN", "inf", "-Infinity", "", "1,2", " 1", "0x10", "1_000", "007", "1e400"]),
        st.integers(), st.integers(min_value=10 ** 308, max_value=10 ** 400), st.none(), st.text(max_size=4)),
        min_size=0, max_size=4), max_size=6))
    def test_every_depth_level_reads_exactly_as_float_or_is_refused(self, levels):
        def reference(level):
            try:
                price, size = float(level[0]), float(level[1])
            except (IndexError, TypeError, ValueError, OverflowError):
                raise VestMessageError("not two numbers") from None
            if not (math.isfinite(price) and math.isfinite(size)):
                raise VestMessageError("not finite")
            return price, size

        payload = {"bids": levels, "asks": levels[::-1]}
        try:
            expected = ([reference(level) for level in levels], [reference(level) for level in levels[::-1]])
        except VestMessageError:
            expected = None
        # As built in Python, and as Hummingbot's WSConnection hands a JSON text frame over (json.loads).
        for given_payload in (payload, json.loads(json.dumps(payload))):
            if expected is None:
                with self.assertRaises(VestMessageError):
                    messages.parse_depth(given_payload)
            else:
                self.assertEqual(expected, messages.parse_depth(given_payload))

    @PROPERTY_SETTINGS
    @given(st.lists(st.tuples(FINITE_FLOATS, FINITE_FLOATS), max_size=5), st.integers(min_value=0, max_value=2 ** 62))
    def test_depth_rows_carry_the_given_update_id(self, levels, update_id):
        bids, asks = messages.parse_depth({"bids": [list(level) for level in levels], "asks": levels})
        rows = messages.book_rows(bids, update_id) + messages.book_rows(asks, update_id)
        self.assertEqual([(price, size, update_id) for price, size in levels] * 2, rows)
        self.assertTrue(all(type(row) is OrderBookRow for row in rows))
