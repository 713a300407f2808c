"""The model zoo's config package: one YAML of defaults < --config_path < the command line, and where a process
stands in a launch (device, rank) and on ModelArts or an object store.

config (parsing, checks, the saved config.yaml), config_table (the README's table), device_adapter and
local_adapter (ranks and devices from the launcher's environment), moxing_adapter (copies in and out of
ModelArts or an S3/OBS bucket around an entry point).

May import: core, cluster
"""
