import argparse
import sys

from mbp_teach.experiments import load, names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.experiments", description="experiments of mbp_teach")
    sub = parser.add_subparsers(dest="name", required=True)
    for name in names():
        mod = load(name)
        doc = (mod.__doc__ or "").strip().splitlines()
        mod.add_arguments(sub.add_parser(name, help=doc[0] if doc else None))
    args = parser.parse_args(argv)
    return int(load(args.name).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
