"""Service desk: experts, presence, routing, SLA clocks, aftercare, notifications and reports."""
