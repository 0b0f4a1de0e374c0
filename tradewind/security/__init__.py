"""Security primitives, pure and local: envelope encryption of secrets at rest
(`encryption`; master keys from the environment or a file in `master_keys`, through a KMS
in `kms_keys`), password hashing (`passwords`), access tokens (`tokens`), refresh tokens
(`refresh_tokens`) and masks for logs and API responses (`redaction`). Errors are in
`errors`.

The store and the gateway call these; nothing here does database or network I/O.
"""
