"""The stand file's ``[console]`` table: the web console's update period and its expert-only commands."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from trackerdcs.contract.topics import NAME_RE

DEFAULT_EXPERT = ["reset", "sim"]


class ConsoleConfig(BaseModel):
    """What the console lets whom do, and how often it pushes changes.

    Operators command; a command named in ``expert_commands`` (``sim`` stands for every
    simulator steering) and any HV setpoint above ``expert_above_v`` need an expert.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="console", pattern=NAME_RE.pattern, description="Its topic root")
    update_period: float = Field(
        default=1.0, gt=0, le=60, description="Changes are pushed to the browser at most this often, s"
    )
    expert_commands: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXPERT),
        description="Commands only experts may send ('sim': the simulators' steering)",
    )
    expert_above_v: float = Field(
        default=200.0, ge=0, description="Setting or switching on HV above this many volts needs an expert"
    )
