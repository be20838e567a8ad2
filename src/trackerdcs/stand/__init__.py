"""The stand file: one TOML file that names the broker, every device, module and rule.

It sits below everything that runs and above the domain packages (devices, safety,
archive, the bus's settings) whose configuration models it assembles.
"""

from trackerdcs.stand.errors import StandError
from trackerdcs.stand.load import default_stand_text, load_stand, parse_stand
from trackerdcs.stand.model import PASSWORD_ENV, BrokerConfig, Stand

__all__ = [
    "PASSWORD_ENV",
    "BrokerConfig",
    "Stand",
    "StandError",
    "default_stand_text",
    "load_stand",
    "parse_stand",
]
