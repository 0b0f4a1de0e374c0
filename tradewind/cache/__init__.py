"""Hot data (latest prices, top of book, latest portfolio) shared between services:
in-process in embedded mode, Redis in distributed mode."""
