"""`make bench`: what users running this nightly care about, measured side by side with the tools they use.

Not tests: numbers, recorded with the machine, versions and seed in `bench/results.json` and the table
`bench/results.md` that the README shows. Run `python -m bench` (or `--quick`).
"""
