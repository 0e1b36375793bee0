"""`python -m multifolio run ...`: the same command line as `multifolio`."""

from multifolio.cli import main

main()
