"""A freqtrade strategy that trades often, for trying the simulated exchange as a live
Binance: it enters on candles closing above their 6-candle mean, keeps its
stop-loss on the exchange (a STOP_LOSS_LIMIT order), and leaves by a small return or
after half an hour whatever the return, so an hour opens and closes several trades. Its
candles are 5-minute ones, the replayed data's own width, so its warm-up comes from the
venue's history at once.

It is loaded by freqtrade (its own virtual environment), never by the platform."""

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class TradewindProbe(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    startup_candle_count = 30
    process_only_new_candles = True
    use_exit_signal = False
    minimal_roi = {"0": 0.003, "10": 0.001, "20": 0.0, "30": -1}
    stoploss = -0.01
    order_types = {
        "entry": "market",
        "exit": "market",
        "stoploss": "limit",
        "stoploss_on_exchange": True,
        "stoploss_on_exchange_interval": 30,
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["mean"] = dataframe["close"].rolling(6).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        rising = (dataframe["close"] > dataframe["mean"]) & (dataframe["volume"] > 0)
        dataframe.loc[rising, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe
