"""Recorded InvokeAgent traces (``*.json``, ``*.jsonl``) and the generator that builds them."""
