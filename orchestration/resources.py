"""Dagster resources: the one place where configuration enters the asset graph.

The config file path comes from `IMPACT_CONFIG` (default `./impact.yaml`); secrets inside it are
`${ENV_VAR}` references resolved from the environment, never Dagster config values.
"""


from dagster import ConfigurableResource

from impact.config import ImpactConfig, load_config


class ImpactConfigResource(ConfigurableResource):
    """The parsed `impact.yaml`; `config_path` overrides `IMPACT_CONFIG` when set."""

    config_path: str | None = None

    def load(self) -> ImpactConfig:
        return load_config(self.config_path)
