"""The portfolio of systems: allocation of capital between them, limits across their books."""
