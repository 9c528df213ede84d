"""The module library (seeds/004): what Vault calls secrets engines, switched on per user.

catalog.py     the modules there are (id, name, description, version) and their default
               policy; `kv` is the secrets API itself, always enabled
policy.py      an operator's policy of a module: available, and to which roles
access.py      who may use a module: available, allowed for the role (role rules named
               `module:<id>[/<key>]`), enabled by the user; 403 codes otherwise
service.py     the library: list for the caller, enable, disable, set a policy, purge
stored.py      every column of module data kept through the barrier (for rewrap jobs)
transit/       encryption as a service: per-user named keys
totp/          time-based one-time passwords: per-user TOTP keys
"""
