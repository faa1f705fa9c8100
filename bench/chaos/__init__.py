"""The chaos run (`make chaos`): seeded faults on the real stack, compared with a fault-free run."""
