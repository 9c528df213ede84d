"""Transit: encryption as a service with per-user named keys that never leave the server.

models.py       transit_keys (one row per key) and transit_key_versions (its material)
ciphertext.py   the `strongroom:v{N}:{base64}` format of ciphertexts and signatures
keys.py         loading a key's versions for use (through the barrier, cached per node)
repository.py   the SQL
service.py      create, rotate, configure, delete, export; operations.py: encrypt, decrypt,
                rewrap, datakey, sign, verify
schemas.py, endpoints.py   the HTTP API under /api/v1/modules/transit/
"""
