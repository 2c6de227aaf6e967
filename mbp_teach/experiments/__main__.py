import sys

from mbp_teach.bench import main

if __name__ == "__main__":
    sys.exit(main("mbp_teach.experiments", "experiments of mbp_teach"))
