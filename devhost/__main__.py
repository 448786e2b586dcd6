"""``python -m devhost start --app PATH/function_app.py ...``."""

import sys

from devhost.cli import main

if __name__ == "__main__":
    sys.exit(main())
