"""Share-once links (see `strongroom.shares.service` for the design)."""
