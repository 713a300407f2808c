"""Many processes, many hosts: data-parallel set-up, replica checks, rank tables, object stores.

May import: core, model_utils.device_adapter
"""
