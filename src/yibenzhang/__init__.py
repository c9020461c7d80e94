"""Yibenzhang (一本账): one ledger for a region's integrated public data resource system."""

__version__ = "0.1.0"
