"""The chaos toolkit: faults a test or `tradewind chaos` injects into a running distributed
platform."""
