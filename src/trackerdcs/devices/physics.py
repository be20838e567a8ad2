"""Physics used by the simulators: dew point and silicon leakage current."""

from __future__ import annotations

import math

# Magnus formula coefficients over water (Alduchov & Eskridge 1996), valid -45..60 °C.
MAGNUS_B = 17.62
MAGNUS_C = 243.12  # °C

BOLTZMANN_EV = 8.617333e-5  # eV/K
SILICON_GAP_EV = 1.21  # effective band gap for leakage scaling (Chilingarov 2013)
ZERO_CELSIUS = 273.15


def dew_point(temperature: float, humidity: float) -> float:
    """Get the dew point in °C from a temperature in °C and a relative humidity in %."""
    rh = min(max(humidity, 0.1), 100.0)
    gamma = math.log(rh / 100.0) + MAGNUS_B * temperature / (MAGNUS_C + temperature)
    return MAGNUS_C * gamma / (MAGNUS_B - gamma)


def leakage_temperature_factor(temperature: float, reference: float = 20.0) -> float:
    """Get I(T)/I(T_ref) for a silicon sensor's bulk leakage current (temperatures in °C)."""
    t = temperature + ZERO_CELSIUS
    t_ref = reference + ZERO_CELSIUS
    exponent = -SILICON_GAP_EV / (2 * BOLTZMANN_EV) * (1 / t - 1 / t_ref)
    return (t / t_ref) ** 2 * math.exp(exponent)


def leakage_voltage_shape(voltage: float, depletion: float) -> float:
    """Get the leakage current's voltage dependence, 1.0 at full depletion.

    Below depletion the depleted volume, and so the generation current, grows as
    sqrt(V); above it the current keeps growing slowly (surface and edge currents).
    """
    v = max(voltage, 0.0)
    if v <= depletion:
        return math.sqrt(v / depletion)
    return 1.0 + 0.1 * (v - depletion) / depletion
