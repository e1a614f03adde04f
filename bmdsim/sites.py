"""Skeletal sites modelled by bmdsim.

bmdsim models areal bone mineral density (BMD, g/cm2) measured by DXA at
three sites: the lumbar spine (L1-L4), the femoral neck and the total hip.
"""

from __future__ import annotations

from ._validation import check_choice

#: The sites bmdsim models, in display order.
SITES: tuple[str, ...] = ("lumbar_spine", "femoral_neck", "total_hip")

#: Labels for tables and figures.
SITE_LABELS: dict[str, str] = {
    "lumbar_spine": "Lumbar spine",
    "femoral_neck": "Femoral neck",
    "total_hip": "Total hip",
}


def check_site(site: object, field: str = "site") -> str:
    """Return ``site`` if it is a known site name, else raise listing the valid ones."""
    return check_choice(field, site, SITES)
