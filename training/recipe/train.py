# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Fine-tune a backbone on several class-per-folder sources; Hydra config in training/conf/.

    python -m training.recipe.train                       # the shipped recipe (dataset=field)
    python -m training.recipe.train dataset=permissive    # permissively licensed sources only
    python -m training.recipe.train +sources.my_station.root=/data/my_station   # one more source
    python -m training.recipe.train --multirun lr=3e-4,6e-4
    torchrun --nproc-per-node 2 -m training.recipe.train  # DDP, 2 processes (distributed.py)

The recipe is sized for a 2-core CPU: photos decoded once and cached, channels_last, the stem
and first stages frozen, a head-only first epoch, progressive resizing from ``min_train_size`` up
to the deployment size for the last epochs, AdamW with warm-up and cosine decay, label smoothing,
and a class- and source-balanced draw (training.recipe.sources). Every source is validated on its
own with the shared deployment preprocessing; the kept checkpoint (best.ckpt) is the epoch with the
best worst-source top-1, so a large source cannot hide a failing one. After training, a
temperature is fitted on validation (training.recipe.calibration) and stored for the export.
With ``device=cuda`` (or ``auto`` on a machine with a GPU) it trains with mixed precision.
Under torchrun each process trains its share of every batch (``batch_size`` is the global one)
and only rank 0 writes logs, TensorBoard and checkpoints.
Checkpoints hold only tensors and plain containers (training.recipe.checkpoints).
"""

from dataclasses import dataclass, field
import logging
import os
from pathlib import Path
import shlex
import shutil
import sys
import time
from typing import Any, Dict, List, Optional, Tuple, Union

import cv2
import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import to_absolute_path
import numpy as np
from omegaconf import DictConfig, OmegaConf
from timm.optim import param_groups_weight_decay
from timm.scheduler import CosineLRScheduler
from timm.utils import ModelEmaV3
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from training.recipe import (
    calibration,
    data,
    distributed,
    empty_scenes,
    models,
    sources,
    transforms,
)
from training.recipe.checkpoints import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from training.recipe.metrics import compute_metrics, format_metrics
from waste_classifier_ros.core import model_card
from waste_classifier_ros.core.preprocessing import DESCRIPTION

log = logging.getLogger(__name__)


def train_size(cfg: DictConfig, epoch: int) -> int:
    """Training resolution of an epoch: ramp up in steps of 32, full size for the last epochs."""
    ramp_epochs = cfg.epochs - cfg.head_epochs - cfg.full_size_epochs
    fine_tune_epoch = epoch - cfg.head_epochs
    if cfg.min_train_size >= cfg.input_size or fine_tune_epoch >= ramp_epochs:
        return cfg.input_size
    progress = max(0, fine_tune_epoch) / max(1, ramp_epochs)
    size = cfg.min_train_size + (cfg.input_size - cfg.min_train_size) * progress
    return min(cfg.input_size, int(size) // 32 * 32)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: DictConfig,
                   steps_per_epoch: int) -> CosineLRScheduler:
    """Return timm's per-step linear warm-up and cosine decay over the fine-tuning epochs.

    The head-only epochs before it run at the constant ``head_lr`` (``set_learning_rate``). The
    warm-up climbs from ``lr / warm-up steps`` to ``lr`` (before timm: ``lr * (step + 1) /
    warm-up steps``, at most ``lr / warm-up steps`` apart); the cosine from ``lr`` down to
    ``min_lr`` is what it was, step for step.
    """
    warmup = cfg.warmup_epochs * steps_per_epoch
    total = max(1, (cfg.epochs - cfg.head_epochs) * steps_per_epoch)
    return CosineLRScheduler(optimizer, t_initial=max(1, total - warmup), lr_min=cfg.min_lr,
                             warmup_t=warmup, warmup_lr_init=cfg.lr / max(1, warmup),
                             warmup_prefix=True, t_in_epochs=False)


def set_learning_rate(optimizer: torch.optim.Optimizer, scheduler: CosineLRScheduler,
                      cfg: DictConfig, epoch: int, step: int, steps_per_epoch: int) -> float:
    """Set and return the learning rate of one step: ``head_lr``, then the scheduler's."""
    if epoch < cfg.head_epochs:
        for group in optimizer.param_groups:
            group['lr'] = cfg.head_lr
    else:
        scheduler.step_update((epoch - cfg.head_epochs) * steps_per_epoch + step)
    return optimizer.param_groups[0]['lr']


def make_ema(model: nn.Module, decay: float) -> Optional[ModelEmaV3]:
    """Return timm's EMA of the weights with warm-up, or None for ``decay`` 0.

    With ``warmup_power`` 1 the average is the plain mean of every step's weights until that
    mean would weigh the newest step less than ``1 - decay`` (after ``1 / (1 - decay)`` steps),
    then the exponential average with ``decay``; so a run shorter than the average's span does
    not keep its untrained start. ``ModelEmaV3.update`` takes the step count for this.
    """
    if decay <= 0:
        return None
    return ModelEmaV3(model, decay=decay, use_warmup=True, warmup_power=1.0)


def set_trainable(model: nn.Module, frozen_modules: List[nn.Module], head_only: bool) -> None:
    """Freeze the stem (always) or everything but the head (head-only epochs).

    Frozen parts also stay in eval mode so their BatchNorm statistics keep the ImageNet values.
    """
    head_module = models.head_module(model)
    head = set(map(id, head_module.parameters()))
    for param in model.parameters():
        param.requires_grad_(not head_only or id(param) in head)
    for module in frozen_modules:
        for param in module.parameters():
            param.requires_grad_(False)
    model.train()
    for module in (frozen_modules if not head_only else [model]):
        module.eval()
    head_module.train()


def resolve_device(name: str) -> torch.device:
    """``auto`` takes CUDA when torch sees a GPU; ``cuda`` without one is an error."""
    if name not in ('auto', 'cpu', 'cuda'):
        raise ValueError(f'device={name!r}: choose auto, cpu or cuda')
    if name == 'cuda' and not torch.cuda.is_available():
        raise ValueError('device=cuda, but torch sees no CUDA device '
                         f'(torch {torch.__version__}, CUDA build: {torch.version.cuda}); '
                         'use device=auto or device=cpu')
    return torch.device('cuda' if name != 'cpu' and torch.cuda.is_available() else 'cpu')


@dataclass
class Parts:
    """What one run trains with: the model, its frozen stem, optimizer, schedule and EMA."""

    model: nn.Module
    frozen: List[nn.Module]
    optimizer: torch.optim.Optimizer
    scheduler: CosineLRScheduler
    criterion: nn.Module
    scaler: torch.amp.GradScaler
    ema: Optional[ModelEmaV3]
    device: torch.device

    @property
    def kept(self) -> nn.Module:
        """Return the model that is validated, kept and exported: the EMA when there is one."""
        return self.ema.module if self.ema is not None else self.model


def build_parts(cfg: DictConfig, num_classes: int, device: torch.device,
                steps_per_epoch: int) -> Parts:
    """Create the model, AdamW over timm's weight-decay groups, schedule, loss, scaler, EMA."""
    model = models.create_model(cfg.arch, num_classes, cfg.pretrained, cfg.weights)
    model = model.to(device, memory_format=torch.channels_last)
    # No weight decay on biases and normalisation parameters (the usual AdamW practice).
    optimizer = torch.optim.AdamW(param_groups_weight_decay(model, cfg.weight_decay), lr=cfg.lr)
    return Parts(model=model, frozen=models.stem_modules(model, cfg.freeze_stages),
                 optimizer=optimizer, scheduler=make_scheduler(optimizer, cfg, steps_per_epoch),
                 criterion=nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing),
                 scaler=torch.amp.GradScaler(device.type,
                                             enabled=device.type == 'cuda' and cfg.amp),
                 # An exponential moving average of the weights (timm's, as in its train
                 # script) is validated, kept and exported; the raw weights go on training.
                 ema=make_ema(model, cfg.ema_decay), device=device)


def train_one_epoch(model: nn.Module, parts: Parts, loader: torch.utils.data.DataLoader,
                    cfg: DictConfig, epoch: int, writer: Optional[SummaryWriter],
                    wandb_run: Any) -> Dict[str, float]:
    """Train ``model`` (``parts.model``, maybe DDP-wrapped) one epoch; return its statistics."""
    steps = len(loader)
    device = parts.device
    seen, loss_sum, correct = 0, 0.0, 0
    start, cpu_start = time.perf_counter(), time.process_time()
    bar = tqdm(loader, desc=f'epoch {epoch + 1}/{cfg.epochs}', leave=False, mininterval=2,
               dynamic_ncols=True, disable=not distributed.is_main())
    for step, (images, targets) in enumerate(bar):
        lr = set_learning_rate(parts.optimizer, parts.scheduler, cfg, epoch, step, steps)
        images = images.to(device, non_blocking=True).contiguous(
            memory_format=torch.channels_last)
        targets = targets.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16,
                            enabled=parts.scaler.is_enabled()):
            logits = model(images)
            loss = parts.criterion(logits, targets)
        parts.optimizer.zero_grad(set_to_none=True)
        parts.scaler.scale(loss).backward()
        parts.scaler.step(parts.optimizer)
        parts.scaler.update()
        global_step = epoch * steps + step
        if parts.ema is not None:
            parts.ema.update(model, step=global_step + 1)

        seen += len(targets)
        loss_sum += loss.item() * len(targets)
        correct += (logits.argmax(1) == targets).sum().item()
        bar.set_postfix(loss=f'{loss_sum / seen:.3f}', lr=f'{lr:.1e}', refresh=False)
        if step % 10 == 0 and writer is not None:
            writer.add_scalar('train/loss', loss.item(), global_step)
            writer.add_scalar('train/lr', lr, global_step)
    seconds = time.perf_counter() - start
    # Summed over the processes (each trained its share of every batch); throughput in total.
    total_seen, total_loss, total_correct, images_per_s, processes = map(
        float, distributed.all_reduce_sum([seen, loss_sum, correct, seen / seconds, 1]))
    stats = {'loss': total_loss / total_seen, 'accuracy': total_correct / total_seen,
             'images_per_s': images_per_s, 'images_per_s_per_process': images_per_s / processes,
             'seconds': seconds, 'cpu_seconds': time.process_time() - cpu_start}
    if writer is not None:
        for key, value in stats.items():
            writer.add_scalar(f'train/{key}', value, epoch + 1)
    if wandb_run is not None:
        wandb_run.log({f'train/{key}': value for key, value in stats.items()}, step=epoch + 1)
    return stats


@torch.no_grad()
def predict_logits(model: nn.Module, loader: torch.utils.data.DataLoader,
                   device: torch.device) -> Tuple[np.ndarray, np.ndarray]:
    """Float32 logits and labels over a loader, in eval mode."""
    model.eval()
    num_classes = models.head_module(model).out_features
    logits, labels = [torch.zeros(0, num_classes)], [torch.zeros(0, dtype=torch.int64)]
    for images, targets in loader:
        images = images.to(device).contiguous(memory_format=torch.channels_last)
        logits.append(model(images).float().cpu())
        labels.append(targets)
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


def predict_shared(model: nn.Module, dataset: data.PreprocessedImages, batch_size: int,
                   device: torch.device) -> Tuple[np.ndarray, np.ndarray]:
    """Logits and labels over a dataset, each process on its share, gathered in dataset order."""
    share = torch.utils.data.Subset(dataset, distributed.shard(len(dataset)))
    logits, labels = predict_logits(
        model, torch.utils.data.DataLoader(share, batch_size=batch_size), device)
    return (distributed.gather_rows(logits, len(dataset)),
            distributed.gather_rows(labels, len(dataset)))


def validate(model: nn.Module, val_sets: dict, batch_size: int, classes: List[str],
             device: torch.device) -> dict:
    """Per-source and combined metrics of the model on every source's validation set.

    Under torchrun every process scores its share and gets all predictions back, so every
    process computes the metrics one process would.
    """
    outputs = {name: predict_shared(model, dataset, batch_size, device)
               for name, dataset in val_sets.items()}
    per_source = {name: compute_metrics(calibration.softmax(logits), labels, classes)
                  for name, (logits, labels) in outputs.items()}
    combined = compute_metrics(
        calibration.softmax(np.concatenate([logits for logits, _ in outputs.values()])),
        np.concatenate([labels for _, labels in outputs.values()]), classes)
    return {'per_source': per_source, 'combined': combined,
            'selection': selection_score(per_source)}


def selection_score(per_source: dict) -> dict:
    """Score an epoch for best.ckpt: the worst source's top-1, then the mean macro-F1."""
    worst = min(per_source, key=lambda name: per_source[name]['top1'])
    return {'rule': 'max of (worst source top-1, mean source macro-F1)',
            'worst_source': worst, 'worst_top1': per_source[worst]['top1'],
            'mean_macro_f1': float(np.mean([m['macro_f1'] for m in per_source.values()]))}


def is_better(score: dict, best: Optional[dict]) -> bool:
    key = (score['worst_top1'], score['mean_macro_f1'])
    return best is None or key > (best['worst_top1'], best['mean_macro_f1'])


def log_metrics(metrics: dict, epoch: int, writer: Optional[SummaryWriter],
                wandb_run: Any) -> None:
    scalars = {}
    for name, source_metrics in metrics['per_source'].items():
        scalars[f'val_{name}/top1'] = source_metrics['top1']
        scalars[f'val_{name}/macro_f1'] = source_metrics['macro_f1']
        scalars.update({f'val_{name}_recall/{cls}': row['recall']
                        for cls, row in source_metrics['per_class'].items()})
    scalars['val/worst_source_top1'] = metrics['selection']['worst_top1']
    for key, value in scalars.items():
        if writer is not None:
            writer.add_scalar(key, value, epoch + 1)
    if wandb_run is not None:
        wandb_run.log(scalars, step=epoch + 1)


def format_epoch(metrics: dict) -> str:
    """One line per source for the epoch log: top-1, macro-F1 and every class's recall."""
    lines = []
    for name, m in metrics['per_source'].items():
        recalls = ' '.join(f'{cls}={row["recall"]:.2f}' for cls, row in m['per_class'].items()
                           if row['support'])
        lines.append(f'  val {name:<12} top-1 {m["top1"]:.4f} macro-F1 {m["macro_f1"]:.4f} | '
                     f'recall {recalls}')
    return '\n'.join(lines)


def start_wandb(cfg: DictConfig, out_dir: Path) -> Any:
    if not cfg.wandb.enabled:
        return None
    try:
        import wandb
    except ImportError:
        raise RuntimeError('wandb.enabled=true but wandb is not installed: '
                           'pip install wandb, or leave wandb.enabled=false') from None
    os.environ.setdefault('WANDB_MODE', cfg.wandb.mode)
    return wandb.init(project=cfg.wandb.project, mode=cfg.wandb.mode, dir=str(out_dir),
                      config=OmegaConf.to_container(cfg, resolve=True))


def reproduce_command() -> str:
    overrides = HydraConfig.get().overrides.task if HydraConfig.initialized() else []
    return ' '.join([distributed.launcher() + ' training.recipe.train']
                    + [shlex.quote(o) for o in overrides])


def load_data(cfg: DictConfig, val_size: Optional[int] = None) -> tuple:
    """Read the project classes (labels.txt) and decode every configured source.

    ``empty`` is left out when no source provides it (training.recipe.empty_scenes).
    Validation images are stretched to ``val_size`` (default: the config's input size).
    """
    configured = sources.sources_from_config(cfg.sources, Path(to_absolute_path('.')))
    classes = empty_scenes.learnt_classes(
        configured, model_card.read_labels(to_absolute_path(cfg.classes_file)))
    return classes, sources.load_sources(configured, classes, cfg.cache_short_side,
                                         val_size or cfg.input_size)


def calibrate(path: Path, val_loaders: dict, device: torch.device, run_seconds: float) -> None:
    """Fit the temperature on the kept model's validation logits; store it and the ECE report.

    The run's whole wall time is stored beside it (the kept epoch may not be the last).

    The kept model is read back from best.ckpt, so a resumed run whose best epoch came before
    the resume calibrates the right weights.
    """
    kept = load_checkpoint(path)
    model = model_from_checkpoint(kept).to(device).to(memory_format=torch.channels_last)
    outputs = {name: predict_logits(model, loader, device) for name, loader in val_loaders.items()}
    logits = {name: out[0] for name, out in outputs.items()}
    labels = {name: out[1] for name, out in outputs.items()}
    report = calibration.calibration_report(logits, labels,
                                            calibration.fit_temperature(logits, labels))
    for name, row in report['per_source'].items():
        log.info('calibration %-12s ECE %.4f -> %.4f, NLL %.4f -> %.4f (T = %.3f)', name,
                 row['ece_before'], row['ece_after'], row['nll_before'], row['nll_after'],
                 report['temperature'])
    kept['calibration'] = report
    kept['run_seconds'] = run_seconds
    save_checkpoint(path, kept)
    calibration.plot_reliability(logits, labels, report['temperature'],
                                 path.with_name('reliability.png'))


def run(cfg: DictConfig, out_dir: Union[str, Path]) -> dict:
    """Train as configured, writing checkpoints and TensorBoard logs to out_dir.

    Under torchrun every process trains its share (training.recipe.distributed) and only rank 0
    writes; the result is the same on every process.
    """
    with distributed.session(resolve_device(cfg.device).type) as context:
        return _train(cfg, Path(out_dir), context)


@dataclass
class History:
    """Where a run stands: the next epoch, time spent, the best epoch so far, how it was run."""

    command: str
    start_epoch: int = 0
    previous_seconds: float = 0.0
    best: Optional[Dict[str, Any]] = None
    resumes: List[Dict[str, Any]] = field(default_factory=list)


def _prepare_process(cfg: DictConfig, out_dir: Path, context: distributed.Context) -> None:
    """Make the run folder (rank 0), set threads and the seed, log the config and device."""
    if distributed.is_main():
        out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.workers:
        # OpenCV's thread pool does not survive fork(): once used in this process, a forked
        # DataLoader worker calling OpenCV can hang. Keep OpenCV single-threaded from the start.
        cv2.setNumThreads(1)
    torch.manual_seed(cfg.seed)
    log.info('config:\n%s', OmegaConf.to_yaml(cfg))
    log.info('device %s%s', context.device,
             ' with mixed precision' if context.device.type == 'cuda' and cfg.amp else '')


def _load_logged(cfg: DictConfig) -> Tuple[List[str], sources.MultiSourceData]:
    """Load the classes and every source, and log what came in."""
    load_start = time.perf_counter()
    classes, multi = load_data(cfg)
    log.info('classes %s; %d training images from %d source(s); loaded in %.1f s; '
             'file list sha256 %s', classes, len(multi.train.labels), len(multi.val),
             time.perf_counter() - load_start, multi.info['files_sha256'][:16])
    return classes, multi


def _balanced_sampler(cfg: DictConfig, multi: sources.MultiSourceData, num_classes: int,
                      context: distributed.Context
                      ) -> Tuple[distributed.BalancedDistributedSampler, int]:
    """Return this process's share of the balanced draw and its batch size."""
    weights = sources.sample_weights(multi.train.labels, multi.train_source_ids,
                                     [s['weight'] for s in multi.info['sources']],
                                     num_classes, cfg.balance_power)
    # Seeded with seed * 1000 + epoch, every process the same draw; each takes its share.
    sampler = distributed.BalancedDistributedSampler(weights, len(multi.train.labels),
                                                     cfg.seed * 1000, context.rank,
                                                     context.world_size)
    return sampler, distributed.local_batch_size(cfg.batch_size, context.world_size)


def _resume(cfg: DictConfig, parts: Parts, classes: List[str],
            context: distributed.Context) -> History:
    """Load weights, EMA and optimizer from ``cfg.resume``; return where that run stood."""
    checkpoint = load_checkpoint(to_absolute_path(cfg.resume))
    if checkpoint['classes'] != classes or checkpoint['arch'] != cfg.arch:
        raise ValueError(f'{cfg.resume}: checkpoint is {checkpoint["arch"]} over '
                         f'{checkpoint["classes"]}, not {cfg.arch} over {classes}')
    parts.model.load_state_dict(checkpoint.get('raw_model', checkpoint['model']))
    if parts.ema is not None:
        parts.ema.module.load_state_dict(checkpoint['model'])
    parts.optimizer.load_state_dict(checkpoint['optimizer'])
    start_epoch = checkpoint['epoch']
    log.info('resumed from %s after epoch %d', cfg.resume, start_epoch)
    distributed.log_world_size_change(checkpoint.get('world_size', 1), context.world_size,
                                      cfg.batch_size)
    # The run is still reproduced by its first command; the resumes are kept as history.
    return History(command=checkpoint['command'], start_epoch=start_epoch,
                   previous_seconds=checkpoint['train_seconds'], best=checkpoint['best'],
                   resumes=checkpoint.get('resumes', []) + [
                       {'after_epoch': start_epoch, 'command': reproduce_command(),
                        'world_size': context.world_size}])


def _carry_best_along(cfg: DictConfig, out_dir: Path) -> None:
    """On a resume into a new run folder, copy the best epoch kept so far into it (rank 0)."""
    if distributed.is_main() and cfg.resume and not (out_dir / 'best.ckpt').exists():
        earlier_best = Path(to_absolute_path(cfg.resume)).with_name('best.ckpt')
        if earlier_best.is_file():
            shutil.copyfile(earlier_best, out_dir / 'best.ckpt')


def _epoch_loader(cfg: DictConfig, train_data: data.AugmentedImages,
                  sampler: distributed.BalancedDistributedSampler, batch_size: int, epoch: int,
                  device: torch.device) -> torch.utils.data.DataLoader:
    """Return an epoch's loader: its size's augmentation, this process's seeds, the new draw."""
    epoch_seed = cfg.seed * 1000 + epoch
    train_data.augment = transforms.train_augmentation(train_size(cfg, epoch),
                                                       cfg.augment_strength,
                                                       cfg.new_background_p)
    # Each process augments its share with a stream of its own (rank 0: one process's).
    train_data.augment.set_random_seed(distributed.rank_seed(epoch_seed))
    sampler.set_epoch(epoch)
    return torch.utils.data.DataLoader(
        train_data, batch_size=batch_size, drop_last=True, sampler=sampler,
        num_workers=cfg.workers, worker_init_fn=data.seed_worker,
        pin_memory=device.type == 'cuda',
        generator=torch.Generator().manual_seed(distributed.rank_seed(epoch_seed)))


def _save_epoch(out_dir: Path, state: Dict[str, Any], improved: bool) -> None:
    """Write best.ckpt (when the epoch improved) and last.ckpt, in that order."""
    # best.ckpt first: a last.ckpt on disk always has the best.ckpt it names beside it.
    if improved:
        save_checkpoint(out_dir / 'best.ckpt', {**state, 'optimizer': {}, 'raw_model': {}})
    save_checkpoint(out_dir / 'last.ckpt', state)


def _log_epoch(cfg: DictConfig, epoch: int, stats: Dict[str, float], metrics: dict,
               improved: bool, elapsed: float, world_size: int) -> None:
    log.info('epoch %d/%d size %d: loss %.4f train-acc %.3f (%s, %.0f s, %.0f CPU s)'
             ' | worst source %s top-1 %.4f%s | %.1f min so far\n%s', epoch + 1,
             cfg.epochs, train_size(cfg, epoch), stats['loss'], stats['accuracy'],
             distributed.format_throughput(stats['images_per_s'], world_size),
             stats['seconds'], stats['cpu_seconds'], metrics['selection']['worst_source'],
             metrics['selection']['worst_top1'], ' (best so far)' if improved else '',
             elapsed / 60, format_epoch(metrics))


def _log_end(cfg: DictConfig, metrics: Optional[dict], best: Optional[Dict[str, Any]],
             total: float, checkpoint: Path) -> None:
    if metrics is not None:
        log.info('final val metrics per source (last epoch):\n%s', '\n'.join(
            f'{name}:\n{format_metrics(m)}' for name, m in metrics['per_source'].items()))
    if best is None:
        log.warning('no epoch was trained (epochs=%d), so there is no kept model', cfg.epochs)
    else:
        log.info('kept epoch %s (worst source %s, top-1 %.4f) as %s', best['epoch'],
                 best['worst_source'], best['worst_top1'], checkpoint)
    log.info('training finished: %d epochs, total wall time %.1f min (%.0f s); checkpoint %s',
             cfg.epochs, total / 60, total, checkpoint)


def _checkpoint_state(cfg: DictConfig, classes: list, command: str, dataset: dict,
                      world_size: int) -> dict:
    """Return what every checkpoint of the run records beside its weights and figures."""
    return {'format': CHECKPOINT_FORMAT, 'arch': cfg.arch, 'classes': classes,
            'input_size': cfg.input_size, 'preprocessing': DESCRIPTION,
            'config': OmegaConf.to_container(cfg, resolve=True), 'command': command,
            'dataset': dataset, 'world_size': world_size}


def _train(cfg: DictConfig, out_dir: Path, context: distributed.Context) -> dict:
    wall_start = time.perf_counter()
    main_process = distributed.is_main()
    device = context.device
    _prepare_process(cfg, out_dir, context)
    classes, multi = _load_logged(cfg)
    sampler, batch_size = _balanced_sampler(cfg, multi, len(classes), context)
    parts = build_parts(cfg, len(classes), device, len(sampler) // batch_size)
    history = (_resume(cfg, parts, classes, context) if cfg.resume
               else History(command=reproduce_command()))
    train_data = data.AugmentedImages(multi.train, None)
    val_sets = {name: data.PreprocessedImages(image_set) for name, image_set in multi.val.items()}
    writer = SummaryWriter(str(out_dir / 'tb')) if main_process else None
    wandb_run = start_wandb(cfg, out_dir) if main_process else None
    state = _checkpoint_state(cfg, classes, history.command, multi.info, context.world_size)
    _carry_best_along(cfg, out_dir)
    best, metrics = history.best, None
    for epoch in range(history.start_epoch, cfg.epochs):
        loader = _epoch_loader(cfg, train_data, sampler, batch_size, epoch, device)
        set_trainable(parts.model, parts.frozen, head_only=epoch < cfg.head_epochs)
        # Wrapped anew each epoch: DDP reduces the gradients of what trains in this epoch.
        stats = train_one_epoch(distributed.wrap(parts.model, context), parts, loader, cfg,
                                epoch, writer, wandb_run)
        distributed.average_buffers(parts.kept)
        metrics = validate(parts.kept, val_sets, 2 * cfg.batch_size, classes, device)
        if main_process:
            log_metrics(metrics, epoch, writer, wandb_run)
        elapsed = history.previous_seconds + time.perf_counter() - wall_start
        improved = is_better(metrics['selection'], best)
        if improved:
            best = dict(metrics['selection'], epoch=epoch + 1)
        _log_epoch(cfg, epoch, stats, metrics, improved, elapsed, context.world_size)
        state.update(resumes=history.resumes, epoch=epoch + 1, model=parts.kept.state_dict(),
                     optimizer=parts.optimizer.state_dict(), metrics=metrics, best=best,
                     train_seconds=elapsed, train=stats)
        if parts.ema is not None:
            state['raw_model'] = parts.model.state_dict()
        if main_process:
            _save_epoch(out_dir, state, improved)
    if writer is not None:
        writer.close()
    if wandb_run is not None:
        wandb_run.finish()
    total = history.previous_seconds + time.perf_counter() - wall_start
    if best is not None and main_process:
        val_loaders = {name: torch.utils.data.DataLoader(dataset, batch_size=2 * cfg.batch_size)
                       for name, dataset in val_sets.items()}
        calibrate(out_dir / 'best.ckpt', val_loaders, device, total)
    _log_end(cfg, metrics, best, total, out_dir / 'best.ckpt')
    return {'metrics': metrics, 'best': best, 'checkpoint': str(out_dir / 'best.ckpt'),
            'last': str(out_dir / 'last.ckpt'), 'seconds': total, 'model': parts.kept}


@hydra.main(version_base='1.3', config_path='../conf', config_name='train')
def main(cfg: DictConfig) -> float:
    result = run(cfg, HydraConfig.get().runtime.output_dir)
    # Returned for Hydra sweepers that optimise a value.
    return result['best']['worst_top1'] if result['best'] else 0.0


if __name__ == '__main__':
    # Under torchrun, ranks other than 0 get no Hydra run folder and no log file.
    sys.argv += distributed.hydra_overrides()
    sys.exit(main())
