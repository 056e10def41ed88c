import sys

from memlens.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
