"""TOTP: time-based one-time passwords (RFC 6238), per-user named keys.

models.py       totp_keys (the seed through the barrier, the last step a code validated at)
otpauth.py      otpauth:// URLs (Key URI format) and base32 seeds, read and written
qr.py           the QR code of a URL, as a PNG (segno)
repository.py   the SQL
service.py      generate, import, code, validate (±skew steps, each code once), list, delete
schemas.py, endpoints.py   the HTTP API under /api/v1/modules/totp/
"""
