"""dependency-injector containers: wiring only, no logic."""
