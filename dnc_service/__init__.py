"""The DNC list gRPC service: dnc.v1.DncService over MongoDB."""
