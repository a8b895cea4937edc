# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Training on several processes with torchrun and DistributedDataParallel, PyTorch's own engine.

    torchrun --nproc-per-node 2 -m training.recipe.train ...  # a process group of 2 here
    python -m training.recipe.train ...                        # one process, no process group

Under torchrun (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in the
environment) :func:`session` joins the process group, gloo on CPU and nccl on CUDA (one GPU per
process, the local rank's); without them it is one process of rank 0 in a world of 1 and nothing
is initialised. Every rank computes the same global class-balanced draw of an epoch and takes its
own disjoint share (:class:`BalancedDistributedSampler`); validation is split the same way and
the predictions are gathered back into dataset order (:func:`gather_rows`), so every rank
computes exactly the metrics of a single-process evaluation. Only rank 0 writes (:func:`is_main`).
"""

from contextlib import contextmanager
from dataclasses import dataclass
import logging
import math
import os
from typing import Iterator

import numpy as np
from numpy.typing import ArrayLike
from timm.utils import distribute_bn
import torch
from torch import nn
import torch.distributed as dist

log = logging.getLogger(__name__)

TORCHRUN_VARIABLES = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


@dataclass(frozen=True)
class Context:
    """Where this process stands: its rank, the world size, and the device it trains on."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def under_torchrun() -> bool:
    """Tell whether torchrun (or a launcher setting the same variables) started this process."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


@contextmanager
def session(device_type: str = 'cpu') -> Iterator[Context]:
    """Join torchrun's process group for the duration of the block and leave it afterwards.

    ``device_type`` is ``'cpu'`` (gloo) or ``'cuda'`` (nccl, one GPU per process: the local
    rank's). Outside torchrun, or with a world size of 1, no process group is created.
    """
    if device_type not in ('cpu', 'cuda'):
        raise ValueError(f'device type {device_type!r}: expected cpu or cuda')
    if not under_torchrun() or int(os.environ['WORLD_SIZE']) == 1:
        yield Context(0, 1, 0, torch.device(device_type))
        return
    rank, world_size = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
    local_rank = int(os.environ['LOCAL_RANK'])
    if device_type == 'cuda':
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f'local rank {local_rank} has no GPU: this machine has '
                               f'{torch.cuda.device_count()}; start at most that many processes '
                               f'per node (--nproc-per-node)')
        torch.cuda.set_device(local_rank)
        device = torch.device('cuda', local_rank)
    else:
        device = torch.device('cpu')
    backend = 'nccl' if device_type == 'cuda' else 'gloo'
    dist.init_process_group(backend, rank=rank, world_size=world_size,
                            device_id=device if device_type == 'cuda' else None)
    root_logger = logging.getLogger()
    root_level = root_logger.level
    log.info('%d processes (%s), this one rank %d, local rank %d, on %s', world_size, backend,
             rank, local_rank, device)
    if rank != 0:
        root_logger.setLevel(logging.WARNING)  # one copy of each progress line: rank 0's
    finished = False
    try:
        yield Context(rank, world_size, local_rank, device)
        finished = True
    finally:
        root_logger.setLevel(root_level)
        if finished:
            dist.barrier()  # nobody leaves while another rank may still need the group
        dist.destroy_process_group()


def launcher() -> str:
    """Return how to start this world again: ``python -m`` or ``torchrun ... -m``."""
    world_size = int(os.environ.get('WORLD_SIZE', '1')) if under_torchrun() else 1
    if world_size == 1:
        return 'python -m'
    per_node = int(os.environ.get('LOCAL_WORLD_SIZE', world_size))
    nodes = f' --nnodes {world_size // per_node}' if per_node != world_size else ''
    return f'torchrun{nodes} --nproc-per-node {per_node} -m'


def hydra_overrides() -> list:
    """Return Hydra overrides that keep a rank other than 0 from writing a run folder or log.

    Appended to the command line before Hydra reads it; rank 0 (and one process) gets none.
    """
    if not under_torchrun() or int(os.environ['RANK']) == 0:
        return []
    return ['hydra.output_subdir=null', 'hydra/job_logging=stdout', 'hydra.run.dir=.']


def is_main() -> bool:
    """Tell whether this process writes logs, TensorBoard, checkpoints and exports: rank 0."""
    return not dist.is_initialized() or dist.get_rank() == 0


def _communication_device() -> torch.device:
    if dist.is_initialized() and dist.get_backend() == 'nccl':
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def all_reduce_sum(values: ArrayLike) -> np.ndarray:
    """Sum a list or array of numbers element-wise over all ranks (float64; one process: as is)."""
    array = np.asarray(values, dtype=np.float64)
    if not dist.is_initialized():
        return array
    tensor = torch.as_tensor(array, device=_communication_device())
    dist.all_reduce(tensor)
    return tensor.cpu().numpy()


def _rank_and_world() -> tuple:
    if not dist.is_initialized():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def shard(total: int) -> range:
    """Return the indices of ``total`` items this process evaluates: every world_size-th."""
    rank, world_size = _rank_and_world()
    return range(rank, total, world_size)


def gather_rows(rows: np.ndarray, total: int) -> np.ndarray:
    """Reassemble the rows each rank computed for its :func:`shard`, in dataset order.

    Every rank returns the same array of ``total`` rows, exactly what one process computing all
    of them would hold, so metrics computed from it equal a single-process evaluation.
    """
    rows = np.asarray(rows)
    rank, world_size = _rank_and_world()
    if len(rows) != len(range(rank, total, world_size)):
        raise ValueError(f'rank {rank}: {len(rows)} rows for a shard of '
                         f'{len(range(rank, total, world_size))} of {total}')
    if world_size == 1:
        return rows
    per_rank = math.ceil(total / world_size)
    device = _communication_device()
    padded = torch.zeros((per_rank, *rows.shape[1:]), dtype=torch.from_numpy(rows).dtype,
                         device=device)
    padded[:len(rows)] = torch.from_numpy(rows).to(device)
    gathered = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(gathered, padded)
    result = np.empty((total, *rows.shape[1:]), dtype=rows.dtype)
    for other, tensor in enumerate(gathered):
        count = len(range(other, total, world_size))
        result[other::world_size] = tensor[:count].cpu().numpy()
    return result


def rank_seed(seed: int) -> int:
    """Return this process's own seed derived from ``seed``; rank 0 (and one process) keeps it."""
    rank, _ = _rank_and_world()
    if rank == 0:
        return seed
    return int(np.random.SeedSequence(seed, spawn_key=(rank,)).generate_state(1)[0])


def average_buffers(model: nn.Module) -> None:
    """Average the BatchNorm running statistics over all ranks (timm's ``distribute_bn``).

    Each rank's running mean follows its own share of the batches, so the average is the running
    mean of the whole batches; afterwards every rank holds the same model for validation and
    rank 0 saves it. Batch counters are equal on every rank and left alone. One process: nothing.
    """
    if dist.is_initialized():
        distribute_bn(model, dist.get_world_size(), reduce=True)


class BalancedDistributedSampler(torch.utils.data.Sampler):
    """This rank's disjoint share of an epoch's global weighted draw with replacement.

    Every rank draws the same ``num_samples`` indices from the per-sample probabilities
    ``weights`` (``torch.multinomial`` with a generator seeded with ``seed + epoch``, as torch's
    DistributedSampler seeds), pads the draw with its own first indices to a multiple of
    ``world_size`` and keeps ``draw[rank::world_size]``. :meth:`set_epoch` selects the epoch's
    draw. With ``rank=0, world_size=1`` it yields exactly what ``WeightedRandomSampler`` with the
    same generator yields, so one process trains as it always did.
    """

    def __init__(self, weights: np.ndarray, num_samples: int, seed: int, rank: int = 0,
                 world_size: int = 1):
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1 or not len(weights):
            raise ValueError(f'weights: expected a non-empty 1-D array, got shape '
                             f'{weights.shape}')
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError('weights: expected finite non-negative numbers, not all zero')
        if num_samples < 1:
            raise ValueError(f'num_samples: expected at least 1, got {num_samples}')
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f'rank {rank} is not in a world of {world_size}')
        self.weights = torch.from_numpy(weights)
        self.num_samples = num_samples
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_draw(self) -> torch.Tensor:
        """Return the epoch's draw shared by all ranks, padded to a multiple of the world size."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        draw = torch.multinomial(self.weights, self.num_samples, replacement=True,
                                 generator=generator)
        padding = len(self) * self.world_size - self.num_samples
        return torch.cat([draw, draw[:padding]])

    def __iter__(self) -> Iterator[int]:
        return iter(self.global_draw()[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.world_size)


def format_throughput(images_per_s: float, world_size: int) -> str:
    """Describe the training throughput of all processes together and of each."""
    if world_size == 1:
        return f'{images_per_s:.1f} img/s'
    return (f'{images_per_s:.1f} img/s = {world_size} processes x '
            f'{images_per_s / world_size:.1f}')


def log_world_size_change(previous: int, world_size: int, batch_size: int) -> None:
    """Say what a resume on another number of processes than the checkpoint's does."""
    per_process = local_batch_size(batch_size, world_size)
    if previous == world_size:
        return
    log.info('resuming a run trained on %d process(es) with %d: the global batch stays %d '
             '(%d per process), so the steps per epoch, the learning-rate schedule and every '
             "epoch's class-balanced draw stay as they were; the draw is now split %d ways, "
             'each process augments its share with its own random stream, and BatchNorm '
             'statistics are taken over %d images per process', previous, world_size,
             batch_size, per_process, world_size, per_process)


def local_batch_size(batch_size: int, world_size: int) -> int:
    """Each rank's share of the global ``batch_size``; it must divide evenly."""
    if batch_size % world_size:
        raise ValueError(f'batch_size={batch_size} is the global batch and must be a multiple '
                         f'of the {world_size} processes')
    return batch_size // world_size


def wrap(model: nn.Module, context: Context) -> nn.Module:
    """DistributedDataParallel around ``model`` in a process group; the model itself alone."""
    if not context.distributed:
        return model
    device_ids = [context.device] if context.device.type == 'cuda' else None
    # Only parameters that require a gradient now are reduced (frozen ones are left out); the
    # BatchNorm buffers are rank 0's at the start, then follow each rank's own batches and are
    # averaged by average_buffers() before validation (docs/training.md, "Training on many
    # machines").
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids,
                                               forward_sync_buffers=False)
