"""`python -m sandbox.helm_standin ARGS...`: the helm stand-in for emulated clusters (see __init__)."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
