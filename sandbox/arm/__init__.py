"""Azure Resource Manager emulation: framework (auth, api-version, routing, counting, LROs) + providers."""
