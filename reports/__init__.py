"""Metrics, result files and the combined summary."""
