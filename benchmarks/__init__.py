# A regular package: pysbd's wheel installs a top-level `benchmarks` package of its own, which
# would otherwise shadow this directory in `from benchmarks.search import ...`.
