"""Longer experiments, run from the command line: ``python -m mbp_teach.experiments NAME``.

Each experiment is a module here with ``add_arguments(parser)`` and ``run(args) -> int`` (the
same shape as ``mbp_teach.bench``, whose command loader this package shares); it shows progress
and writes its table and plots to figures/.
"""
