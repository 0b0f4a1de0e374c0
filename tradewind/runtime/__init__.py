"""Lifecycle, configuration and wiring: everything between `tradewind` and the services.

- `settings`: `Settings`, `load_settings`, `check_reachable`, `redact_url`
- `service_settings`: the services' sections of `Settings` (`ExecutionSettings` ...)
- `settings_table`: every setting as one table (`tradewind settings`, docs/settings.md)
- `logging`: `configure_logging`, `get_logger` (JSON lines, secrets redacted)
- `metrics`: `RuntimeMetrics` (one Prometheus registry per runtime), `timed_handler`
- `service`: the `Service` base class and the `ServiceContext` it is started with
- `registry`: `SERVICES`, the services this build can run, by name
- `health`: the `/healthz`, `/readyz`, `/metrics` server
- `runner`: `run_services`, which runs services until SIGTERM and drains them

Import from the modules; this package re-exports nothing, so that services can import
`tradewind.runtime.service` without pulling in the registry that imports them.
"""
