"""Comparing result records while ignoring the fields that say when, where and how fast."""

from __future__ import annotations


def strip(obj, volatile: set[str]):
    """``obj`` (nested dicts and lists) without the keys in ``volatile``, at any depth."""
    if isinstance(obj, dict):
        return {k: strip(v, volatile) for k, v in obj.items() if k not in volatile}
    if isinstance(obj, list):
        return [strip(v, volatile) for v in obj]
    return obj
