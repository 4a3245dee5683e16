"""Dagster resources: the one place where configuration enters the asset graph.

The config file path comes from `IMPACT_CONFIG` (default `./impact.yaml`); secrets inside it are
`${ENV_VAR}` references resolved from the environment, never Dagster config values.
"""


from dagster import ConfigurableResource

from impact.config import ImpactConfig, load_config


class ImpactConfigResource(ConfigurableResource):
    """The parsed `impact.yaml`; `config_path` overrides `IMPACT_CONFIG` when set."""

    config_path: str | None = None
    #: re-read every source from start_date and rebuild incremental models from scratch (`impact run --full-refresh`)
    full_refresh: bool = False

    def load(self) -> ImpactConfig:
        return load_config(self.config_path)
