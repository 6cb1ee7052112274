"""What the gRPC service and the REST gateway share: reading the environment, JSON logs."""
