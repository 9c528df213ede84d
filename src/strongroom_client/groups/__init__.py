"""The groups of API methods of `Client` and `AsyncClient` (`client.kv`, `client.users`, ...)."""
