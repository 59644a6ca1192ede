"""The platform's GDPR perimeter: AWS regions in EU member states, checked before any AWS call.

Same list as terraform/variables.tf and compliance/policies/eu_regions.py (a test keeps them
equal). London (eu-west-2) and Zurich (eu-central-2) are outside the EU."""
from __future__ import annotations

from fruits.errors import FruitsError

EU_REGIONS = ("eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3")


def require_eu_region(region: str | None) -> str:
    """Return region if it is in the EU; otherwise raise a FruitsError that says what to do."""
    if region not in EU_REGIONS:
        raise FruitsError(f"region {region!r} is outside the EU: the platform runs only in "
                          f"{', '.join(EU_REGIONS)} (GDPR). Set `region` in terraform.tfvars and apply again.")
    return region
