"""Vest public market data over REST and the public WebSocket: subscriptions and routing by channel (Hummingbot's
`listen_for_subscriptions` runs the connection). A rejected message is warned once per connection, then logged at
debug level, and never stops the stream. Section numbers refer to docs/vest-protocol.md."""
import asyncio
import itertools
import time
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Set, Tuple

from hummingbot.connector.derivative.vest_perpetual import (
    vest_perpetual_constants as CONSTANTS,
    vest_perpetual_web_utils as web_utils,
)
from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_messages import (
    VestMessageError,
    VestTicker,
    book_rows,
    depth_channel,
    next_funding_timestamp,
    parse_depth,
    parse_push,
    parse_ticker,
    parse_tickers,
    parse_trade,
    trades_channel,
)
from hummingbot.core.data_type.funding_info import FundingInfo, FundingInfoUpdate
from hummingbot.core.data_type.order_book_message import OrderBookMessage, OrderBookMessageType
from hummingbot.core.data_type.order_book_row import OrderBookRow
from hummingbot.core.data_type.perpetual_api_order_book_data_source import PerpetualAPIOrderBookDataSource
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory
from hummingbot.core.web_assistant.ws_assistant import WSAssistant
from hummingbot.logger import HummingbotLogger

if TYPE_CHECKING:
    from hummingbot.connector.derivative.vest_perpetual.vest_perpetual_derivative import VestPerpetualDerivative


class VestDepthSnapshotMessage(OrderBookMessage):
    """A snapshot whose levels are `(price, size)` float pairs (read once by `parse_depth`): `.bids`/`.asks` build
    the rows in C-level passes, where Hummingbot's `OrderBookMessage` converts every level again in Python."""

    @property
    def bids(self) -> List[OrderBookRow]:
        return book_rows(self.content["bids"], self.update_id)

    @property
    def asks(self) -> List[OrderBookRow]:
        return book_rows(self.content["asks"], self.update_id)


class VestPerpetualAPIOrderBookDataSource(PerpetualAPIOrderBookDataSource):
    _logger: Optional[HummingbotLogger] = None

    def __init__(self, trading_pairs: List[str], connector: "VestPerpetualDerivative",
                 api_factory: WebAssistantsFactory, domain: str = CONSTANTS.DOMAIN):
        super().__init__(trading_pairs)
        self._connector = connector
        self._api_factory = api_factory
        self._domain = domain
        self._pair_by_channel: Dict[str, str] = {}  # "BTC-PERP@depth" / "BTC-PERP@trades" -> "BTC-USDC"
        self._pair_by_symbol: Dict[str, str] = {}  # "BTC-PERP" -> "BTC-USDC", for the `tickers` channel
        self._update_ids = itertools.count(1)  # Vest sends no sequence number (§2.7, §5.3): ours only grows
        self._requests = web_utils.WSRequestSender()
        self._reported_problems: Set[str] = set()  # log lines already warned on this connection
        self._last_channel_message = time.monotonic()  # of any channel; the start counts as one
        self._connected_at = self._last_channel_message
        self._reconnect_delay = web_utils.ReconnectDelay()
        self._halted_symbols: Set[str] = set()  # by the tickers' `status` (§2.2, §5.3)
        self._awaited_pushes: Dict[str, asyncio.Future] = {}  # pair -> its next `@depth` push, for a first book
        self._funding_of_pair: Dict[str, Tuple] = {}  # the last funding values sent on, per pair
        self._outputs: Dict[str, asyncio.Queue] = {}  # message kind -> the queue of Hummingbot's running listener

    async def get_last_traded_prices(self, trading_pairs: List[str], domain: Optional[str] = None) -> Dict[str, float]:
        """Newest trade of `GET /trades` (§2.6); the mark price of `/ticker/latest` (§2.2) when there is none.
        Floats, here and in trade messages, because Hummingbot's interface and its order book take floats."""
        prices: Dict[str, float] = {}
        untraded: Dict[str, str] = {}
        for trading_pair in trading_pairs:
            symbol = await self._connector.exchange_symbol_associated_to_pair(trading_pair)
            trades = await self._connector._api_get(path_url=CONSTANTS.TRADES_PATH_URL,
                                                    params={"symbol": symbol, "limit": 1},
                                                    limit_id=CONSTANTS.TRADES_PATH_URL)
            if isinstance(trades, list) and trades:
                prices[trading_pair] = float(parse_trade(trades[0]).price)
            else:
                untraded[symbol] = trading_pair
        if untraded:
            for ticker in await self._latest_tickers(untraded):
                if ticker.symbol in untraded:
                    prices[untraded[ticker.symbol]] = float(ticker.mark_price)
        return prices

    async def get_funding_info(self, trading_pair: str) -> FundingInfo:
        return (await self.get_funding_infos([trading_pair]))[0]

    async def get_funding_infos(self, trading_pairs: List[str]) -> List[FundingInfo]:
        """Mark, index and `oneHrFundingRate` of `GET /ticker/latest` (§2.2), one request for all pairs; Vest funds
        continuously, so the next funding time reported is the top of the next hour (§6.3)."""
        pair_by_symbol = {await self._connector.exchange_symbol_associated_to_pair(pair): pair
                          for pair in trading_pairs}
        tickers = {ticker.symbol: ticker for ticker in await self._latest_tickers(pair_by_symbol)}
        for ticker in tickers.values():
            self._note_status(ticker)
        missing = [symbol for symbol in pair_by_symbol if symbol not in tickers]
        if missing:
            raise VestMessageError(f"/ticker/latest has no ticker for {', '.join(missing)}")
        next_funding = next_funding_timestamp(self._time())
        return [FundingInfo(trading_pair=pair, index_price=tickers[symbol].index_price,
                            mark_price=tickers[symbol].mark_price, next_funding_utc_timestamp=next_funding,
                            rate=tickers[symbol].one_hr_funding_rate)
                for symbol, pair in pair_by_symbol.items()]

    async def _latest_tickers(self, symbols: Iterable[str]):
        response = await self._connector._api_get(path_url=CONSTANTS.TICKER_LATEST_PATH_URL,
                                                  params={"symbols": ",".join(symbols)},
                                                  limit_id=CONSTANTS.TICKER_LATEST_PATH_URL)
        return parse_tickers(response)

    async def _order_book_snapshot(self, trading_pair: str) -> OrderBookMessage:
        """The first of the next `@depth` push (a full snapshot, §5.3) and `GET /depth` (§2.7): with many pairs the
        pushes come within a second while `/depth` waits in the throttler, where it is then withdrawn."""
        pushed = self._awaited_pushes.setdefault(trading_pair, asyncio.get_running_loop().create_future())
        requested = asyncio.ensure_future(self._requested_snapshot(trading_pair))
        try:
            await asyncio.wait((pushed, requested), return_when=asyncio.FIRST_COMPLETED)
        finally:
            requested.cancel()
            if self._awaited_pushes.get(trading_pair) is pushed:
                del self._awaited_pushes[trading_pair]
        return pushed.result() if pushed.done() else requested.result()

    async def _requested_snapshot(self, trading_pair: str) -> OrderBookMessage:
        """`GET /depth` (§2.7): the top DEPTH_LIMIT levels, no sequence number."""
        symbol = await self._connector.exchange_symbol_associated_to_pair(trading_pair)
        response = await self._connector._api_get(path_url=CONSTANTS.DEPTH_PATH_URL,
                                                  params={"symbol": symbol, "limit": CONSTANTS.DEPTH_LIMIT},
                                                  limit_id=CONSTANTS.DEPTH_PATH_URL)
        return self._snapshot_message(trading_pair, response)

    async def _connected_websocket_assistant(self) -> WSAssistant:
        """Through account group 0 whatever the user's group (§1.2). A reconnection waits here, not in the
        interruption hook, so that a cancelled stream ends at once."""
        delay = self._reconnect_delay.before_connecting(
            last_connection_was_healthy=self._last_channel_message > self._connected_at)
        if delay:
            self.logger().info(f"Reconnecting to the public websocket in {delay} s.")
            await self._sleep(delay)
        self._reported_problems.clear()
        self._connected_at = time.monotonic()  # this attempt is healthy once a channel message comes after it
        return await web_utils.connected_ws_assistant(self._api_factory, web_utils.public_ws_url(self._domain))

    async def _subscribe_channels(self, ws: WSAssistant):
        """One SUBSCRIBE for depth and trades of every current pair, plus `tickers` (§5.2, §5.3)."""
        self._pair_by_channel.clear()
        self._pair_by_symbol.clear()
        channels = [CONSTANTS.WS_TICKERS_CHANNEL]
        for trading_pair in list(self._trading_pairs):
            try:
                symbol = await self._connector.exchange_symbol_associated_to_pair(trading_pair)
            except KeyError:
                self.logger().warning(f"Not subscribing to {trading_pair}: Vest lists no such market.")
                continue
            channels.extend(self._track(symbol, trading_pair))
        await self._requests.send(ws, CONSTANTS.WS_SUBSCRIBE_METHOD, channels)
        self.logger().info(f"Subscribed to Vest public channels: {', '.join(channels)}")

    async def subscribe_to_trading_pair(self, trading_pair: str) -> bool:
        try:
            symbol = await self._connector.exchange_symbol_associated_to_pair(trading_pair)
        except KeyError:
            self.logger().warning(f"Cannot subscribe to {trading_pair}: unknown trading pair.")
            return False
        if not await self._send_pair_request(CONSTANTS.WS_SUBSCRIBE_METHOD, symbol, f"subscribe to {trading_pair}"):
            return False
        self._track(symbol, trading_pair)
        self.add_trading_pair(trading_pair)
        self.logger().info(f"Subscribed to {trading_pair} order book and trade channels.")
        return True

    async def unsubscribe_from_trading_pair(self, trading_pair: str) -> bool:
        """Stops tracking the pair in any case (a later reconnect will not re-subscribe it); True only when the
        UNSUBSCRIBE reached a live socket."""
        try:
            symbol = await self._connector.exchange_symbol_associated_to_pair(trading_pair)
        except KeyError:
            self.logger().warning(f"Cannot unsubscribe from {trading_pair}: unknown trading pair.")
            return False
        self._untrack(symbol)
        self.remove_trading_pair(trading_pair)
        if not await self._send_pair_request(CONSTANTS.WS_UNSUBSCRIBE_METHOD, symbol,
                                             f"unsubscribe from {trading_pair}"):
            return False
        self.logger().info(f"Unsubscribed from {trading_pair} order book and trade channels.")
        return True

    async def _send_pair_request(self, method: str, symbol: str, what: str) -> bool:
        ws = self._ws_assistant
        if ws is None:
            self.logger().warning(f"Cannot {what}: the public websocket is not connected.")
            return False
        try:
            await self._requests.send(ws, method, [depth_channel(symbol), trades_channel(symbol)])
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.logger().warning(f"Could not {what}: {error!r}")
            return False
        return True

    def _track(self, symbol: str, trading_pair: str) -> List[str]:
        channels = [depth_channel(symbol), trades_channel(symbol)]
        self._pair_by_symbol[symbol] = trading_pair
        for channel in channels:
            self._pair_by_channel[channel] = trading_pair
        return channels

    def _untrack(self, symbol: str):
        self._pair_by_symbol.pop(symbol, None)
        for channel in (depth_channel(symbol), trades_channel(symbol)):
            self._pair_by_channel.pop(channel, None)

    async def _process_websocket_messages(self, websocket_assistant: WSAssistant):
        """Reads messages beside the application PING (§5.2) and the silence watchdog; the first to end (socket
        closed, send failed, silence) ends the connection, with its error."""
        await web_utils.run_until_first_ends(self._route_messages(websocket_assistant),
                                             self._requests.ping_periodically(websocket_assistant, self._sleep),
                                             self._end_when_silent())

    async def _end_when_silent(self):
        """A socket can stay open, answering PINGs, while no data flows (the `tickers` push alone carries every
        market, §5.3): after PUBLIC_STREAM_SILENCE_SECONDS of none, Hummingbot's loop opens a new connection."""
        while True:
            silent_for = time.monotonic() - max(self._last_channel_message, self._connected_at)
            if silent_for >= CONSTANTS.PUBLIC_STREAM_SILENCE_SECONDS:
                raise ConnectionError(f"no market data from Vest for {silent_for:.0f} s")
            await asyncio.sleep(CONSTANTS.PUBLIC_STREAM_SILENCE_SECONDS - silent_for)

    @property
    def is_stale(self) -> bool:
        """True while no channel message has come for PUBLIC_STREAM_SILENCE_SECONDS although pairs are tracked: books
        and funding may be old, and the connector is not ready until data flows again."""
        return bool(self._trading_pairs) and \
            time.monotonic() - self._last_channel_message >= CONSTANTS.PUBLIC_STREAM_SILENCE_SECONDS

    async def _route_messages(self, websocket_assistant: WSAssistant):
        async for response in websocket_assistant.iter_messages():
            self._route(response.data)

    def _route(self, frame: Any):
        """Text, binary UTF-8 and Brotli frames are decoded alike (§5.1); PONG and acks are consumed (§5.2). Each
        push is parsed on arrival, so the decoded JSON dies at once instead of waiting in a queue long enough for
        the garbage collector to promote it (at 100 pairs that caused full collections of 100+ ms)."""
        try:
            push = parse_push(frame)
        except VestMessageError as error:
            self._log_once(f"Skipping malformed public websocket frame: {error}")
            return
        if push is None:
            return
        channel, data = push
        self._last_channel_message = time.monotonic()
        if channel.endswith(CONSTANTS.WS_DEPTH_CHANNEL_SUFFIX):
            self._on_depth(channel, data, self._output(self._snapshot_messages_queue_key))
        elif channel.endswith(CONSTANTS.WS_TRADES_CHANNEL_SUFFIX):
            self._on_trade(channel, data, self._output(self._trade_messages_queue_key))
        elif channel == CONSTANTS.WS_TICKERS_CHANNEL:
            self._on_tickers(channel, data, self._output(self._funding_info_messages_queue_key))
        else:
            self._log_once(f"Skipping message of unknown public channel {channel}.")

    def _log_once(self, text: str):
        """A warning the first time this problem occurs on the current connection, debug afterwards."""
        if text in self._reported_problems:
            self.logger().debug(text)
        else:
            self._reported_problems.add(text)
            self.logger().warning(text)

    def _pair_of(self, channel: str) -> Optional[str]:
        trading_pair = self._pair_by_channel.get(channel)
        if trading_pair is None:
            self.logger().debug(f"Ignoring a {channel} message: the pair is no longer tracked.")
        return trading_pair

    async def listen_for_order_book_snapshots(self, ev_loop: asyncio.AbstractEventLoop, output: asyncio.Queue):
        """Pushes go straight into Hummingbot's queue (`_route`): the base class's loop adds a queue, a task switch
        and a timeout per message (at 100 pairs, about 0.17 -> 0.16 CPU seconds per second with all three direct)."""
        await self._deliver_into(self._snapshot_messages_queue_key, output)

    async def listen_for_trades(self, ev_loop: asyncio.AbstractEventLoop, output: asyncio.Queue):
        await self._deliver_into(self._trade_messages_queue_key, output)

    async def listen_for_funding_info(self, output: asyncio.Queue):
        await self._deliver_into(self._funding_info_messages_queue_key, output)

    async def _deliver_into(self, kind: str, output: asyncio.Queue):
        """`kind`'s messages go into `output` while Hummingbot's listener runs; those that came while none ran wait
        in the base class's queue and are handed over first, in order."""
        waiting = self._message_queue[kind]
        self._outputs[kind] = output
        try:
            while True:
                output.put_nowait(await waiting.get())
        finally:
            if self._outputs.get(kind) is output:
                del self._outputs[kind]

    def _output(self, kind: str) -> asyncio.Queue:
        return self._outputs.get(kind) or self._message_queue[kind]

    async def _parse_funding_info_message(self, raw_message: Any, message_queue: asyncio.Queue):
        self._on_tickers(CONSTANTS.WS_TICKERS_CHANNEL, raw_message, message_queue)

    def _on_depth(self, channel: str, data: Any, output: asyncio.Queue):
        """`{sym}@depth` is a full top-N snapshot, not a diff: Vest publishes no sequence number (§2.7, §5.3). The
        first one of a pair may also be its first book (`_order_book_snapshot`)."""
        trading_pair = self._pair_of(channel)
        if trading_pair is None:
            return
        try:
            message = self._snapshot_message(trading_pair, data)
        except VestMessageError as error:
            self._log_once(f"Skipping malformed {channel} message: {error}")
            return
        output.put_nowait(message)
        awaited = self._awaited_pushes.pop(trading_pair, None) if self._awaited_pushes else None
        if awaited is not None and not awaited.done():
            awaited.set_result(message)

    def _on_trade(self, channel: str, data: Any, output: asyncio.Queue):
        """One trade per `{sym}@trades` message; its side is the sign of `qty`, an unconfirmed convention (§2.6)."""
        trading_pair = self._pair_of(channel)
        if trading_pair is None:
            return
        try:
            trade = parse_trade(data)
        except VestMessageError as error:
            self._log_once(f"Skipping malformed {channel} message: {error}")
            return
        output.put_nowait(OrderBookMessage(OrderBookMessageType.TRADE, {
            "trading_pair": trading_pair,
            "trade_type": float(trade.trade_type.value),
            "trade_id": trade.trade_id,
            "update_id": next(self._update_ids),
            "price": float(trade.price),
            "amount": float(trade.amount),
        }, timestamp=trade.timestamp))

    def _on_tickers(self, channel: str, data: Any, output: asyncio.Queue):
        """`tickers` carries every symbol (§5.3): an update only for a tracked pair whose values changed (Hummingbot
        copies each one field by field), and a bad row is skipped alone, so one market cannot stop the others."""
        if not isinstance(data, list):
            self._log_once(f"Skipping malformed {channel} message: data is not a list")
            return
        next_funding = next_funding_timestamp(self._time())
        updates: Dict[str, FundingInfoUpdate] = {}  # a market's later row in the same message supersedes its earlier
        for row in data:
            try:
                ticker = parse_ticker(row)
            except VestMessageError as error:
                self._log_once(f"Skipping malformed row of a {channel} message: {error}")
                continue
            self._note_status(ticker)
            trading_pair = self._pair_by_symbol.get(ticker.symbol)
            funding = (ticker.index_price, ticker.mark_price, next_funding, ticker.one_hr_funding_rate)
            if trading_pair is not None and self._funding_of_pair.get(trading_pair) != funding:
                self._funding_of_pair[trading_pair] = funding
                updates[trading_pair] = FundingInfoUpdate(
                    trading_pair=trading_pair, index_price=ticker.index_price, mark_price=ticker.mark_price,
                    next_funding_utc_timestamp=next_funding, rate=ticker.one_hr_funding_rate)
        for update in updates.values():
            output.put_nowait(update)

    def is_halted(self, symbol: str) -> bool:
        return symbol in self._halted_symbols

    def _note_status(self, ticker: VestTicker):
        """A market whose ticker says HALT stops taking orders until a ticker says TRADING again (§2.2, §5.3); a
        ticker without `status` changes nothing."""
        if ticker.status == CONSTANTS.SYMBOL_STATUS_HALT and ticker.symbol not in self._halted_symbols:
            self._halted_symbols.add(ticker.symbol)
            self.logger().warning(f"Vest halted {ticker.symbol}: no order is sent to it until it trades again.")
        elif ticker.status == CONSTANTS.SYMBOL_STATUS_TRADING and ticker.symbol in self._halted_symbols:
            self._halted_symbols.discard(ticker.symbol)
            self.logger().info(f"{ticker.symbol} trades again on Vest.")

    def _snapshot_message(self, trading_pair: str, depth: Any) -> "VestDepthSnapshotMessage":
        """The same parser for REST and WebSocket depth (§2.7, §5.3); raises VestMessageError on a bad payload."""
        update_id = next(self._update_ids)
        bids, asks = parse_depth(depth)
        return VestDepthSnapshotMessage(OrderBookMessageType.SNAPSHOT, {
            "trading_pair": trading_pair,
            "update_id": update_id,
            "bids": bids,
            "asks": asks,
        }, timestamp=self._time())
