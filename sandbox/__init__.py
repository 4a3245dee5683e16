"""A seeded synthetic engineering organisation with ground truth, served over the real wire formats.

`organisation.generate_organisation` builds the world, `server.SandboxServer` serves it as GitHub REST
v3 and Anthropic's Claude Code analytics report, and `ground_truth.write_ground_truth` writes the
answer key the pipeline is checked against. Pure Python: no Dagster here.
"""
