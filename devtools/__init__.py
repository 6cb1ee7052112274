"""Developer tooling: the local FerretDB and `make run`; not part of the shipped packages."""
