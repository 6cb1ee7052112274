"""Request validation, in one place: the proto's rules (`rules`), what each request asks for
(`requests`), and request messages that do not decode (`decoding`)."""
