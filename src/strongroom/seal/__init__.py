"""Key custody: who holds the root key (the seal), initialisation, unseal, seal and rekey."""
