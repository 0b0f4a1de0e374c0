"""The application: which services this build has and how they are run together.

- `registry`: `SERVICES`, the services this build can run, by name
- `runner`: `run_services`, which runs services until SIGTERM and drains them
- `platform`: what a run connects to (`DistributedPlatform`: the configured stores)
- `embedded`: `EmbeddedPlatform`, everything in one process for `tradewind up`
- `exchanges`: the in-process simulated exchanges `tradewind up` trades on

This is the one package that imports every service; nothing but the command line
imports it. Import from the modules; this package re-exports nothing.
"""
