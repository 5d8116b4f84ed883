"""``python -m fcc_train ARGS`` = ``fcc ARGS`` (``fcc train ARGS`` when ARGS starts with an option).

torchrun needs a module to launch: ``torchrun --standalone --nproc_per_node=N -m fcc_train train --config ...``.
"""

import sys

from fcc.cli import COMMANDS, main

argv = sys.argv[1:]
if not argv or argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
    argv = ["train", *argv]
sys.exit(main(argv))
