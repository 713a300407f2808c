"""Where this process stands in a launch: device, rank, number of ranks, index on its host.

The model zoo's entry for these ids. ModelArts, msrun, the rank-table scripts and mpirun all
export them as environment variables, which local_adapter reads; only the job id differs on
ModelArts (moxing_adapter.get_job_id).
"""

from src.model_utils.local_adapter import get_device_id, get_device_num, get_local_rank, get_rank_id

__all__ = ["get_device_id", "get_device_num", "get_local_rank", "get_rank_id"]
