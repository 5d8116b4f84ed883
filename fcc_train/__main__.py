"""``python -m fcc_train ARGS`` = ``fcc ARGS`` when ARGS starts with a subcommand, else ``fcc train ARGS``.

torchrun needs a module to launch: ``torchrun --standalone --nproc_per_node=N -m fcc_train train --config ...``.
"""

import sys

from fcc.cli import COMMANDS, main

argv = sys.argv[1:]
if not argv or argv[0] not in COMMANDS:
    argv = ["train", *argv]
sys.exit(main(argv))
