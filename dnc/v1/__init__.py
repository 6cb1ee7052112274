"""Generated protobuf API (from proto/dnc/v1); regenerate with `make proto`."""
