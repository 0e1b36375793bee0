"""The configuration: the YAML model (attrs), loading with limits, checks, sweep expansion, the schema.

Owns what a run is asked to do, checked before any bar is read; imports nothing above it.
"""
