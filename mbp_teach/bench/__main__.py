import argparse
import sys

from mbp_teach.bench import load, names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.bench", description="speed benchmarks of mbp_teach")
    sub = parser.add_subparsers(dest="name", required=True)
    for name in names():
        mod = load(name)
        p = sub.add_parser(name, help=(mod.__doc__ or "").strip().splitlines()[0] if mod.__doc__ else None)
        mod.add_arguments(p)
    args = parser.parse_args(argv)
    return int(load(args.name).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
