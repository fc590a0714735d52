"""gankit.expressivity."""
