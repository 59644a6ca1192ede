"""`python -m fruits` is the `fruits` command."""
import sys

from fruits.cli import main

sys.exit(main())
