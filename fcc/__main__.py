import sys

from fcc.cli import main

sys.exit(main())
