"""protovalidate's rules (buf/validate/validate.proto, fetched by `make proto`), generated."""
