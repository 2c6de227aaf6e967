import sys

from mbp_teach.bench import main

if __name__ == "__main__":
    sys.exit(main("mbp_teach.bench", "speed benchmarks of mbp_teach"))
