"""Tradewind: a multi-tenant automated trading platform backend."""

__version__ = "0.1.0"
