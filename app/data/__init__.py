"""Market data: sources' bars checked onto one timeline, and the shared indicator cache (one per run)."""
