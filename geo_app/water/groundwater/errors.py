"""The error of the groundwater potential model (its message says what and where, Vietnamese / English)."""
from __future__ import annotations

from geo_app.errors import InputError


class PotentialError(InputError):
    """An input or a result of the potential model that cannot be used."""
