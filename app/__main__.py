"""`python -m app run ...`: the same command line as `multifolio`."""

from app.cli import main

main()
