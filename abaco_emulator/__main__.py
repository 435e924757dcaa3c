"""`python -m abaco_emulator ...` is the `abaco-emulator` command."""
import sys

from .cli import main

sys.exit(main())
