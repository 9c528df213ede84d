"""The client commands of `strongroom` (Click): one module per command group, loaded only
when its command runs, so that `strongroom kv get` imports neither Rich nor the server."""
