"""The kernel every service runs on: lifecycle, configuration and observability.

- `settings`: `Settings`, `load_settings`, `check_reachable`, `redact_url`
- `service_settings`: the services' sections of `Settings` (`ExecutionSettings` ...)
- `settings_table`: every setting as one table (`tradewind settings`, docs/settings.md)
- `logging`: `configure_logging`, `get_logger` (JSON lines, secrets redacted)
- `metrics`: `RuntimeMetrics` (one Prometheus registry per runtime), `timed_handler`
- `service`: the `Service` base class and the `ServiceContext` it is started with
- `health`: the `/healthz`, `/readyz`, `/metrics` server
- `service_status`: each process's services published to the shared cache, for the
  gateways of the other processes
- `tracing`, `profiling`: OpenTelemetry spans and the sampling profiler

Services import this package and nothing here imports a service: which services exist
and how they are started is `tradewind.app`'s business. Import from the modules; this
package re-exports nothing.
"""
