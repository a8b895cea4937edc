# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Fine-tune a backbone on a class-per-folder dataset; Hydra config in ``training/conf/train.yaml``.

    python -m training.train data_dir=../shared/data/waste7 lr=6e-4 epochs=12
    python -m training.train --multirun lr=3e-4,6e-4

The recipe is sized for a 2-core CPU: photos decoded once and cached, channels_last, the stem
and first stages frozen, a head-only first epoch, progressive resizing from ``min_train_size`` up
to the deployment size for the last epochs, AdamW with warm-up and cosine decay, label smoothing,
and class-balanced sampling (``trash`` is the smallest class). Validation always uses the shared
deployment preprocessing at the input size. Checkpoints hold only tensors and plain containers,
so ``torch.load(..., weights_only=True)`` reads them.
"""

import logging
import math
import os
from pathlib import Path
import shlex
import sys
import time

import cv2
import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import to_absolute_path
import numpy as np
from omegaconf import DictConfig, OmegaConf
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from training import data, models, transforms
from training.metrics import compute_metrics, format_metrics
from waste_classifier_ros.preprocessing import DESCRIPTION

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 'waste_classifier_ros.training/1'


def train_size(cfg, epoch: int) -> int:
    """Training resolution of an epoch: ramp up in steps of 32, full size for the last epochs."""
    ramp_epochs = cfg.epochs - cfg.head_epochs - cfg.full_size_epochs
    fine_tune_epoch = epoch - cfg.head_epochs
    if cfg.min_train_size >= cfg.input_size or fine_tune_epoch >= ramp_epochs:
        return cfg.input_size
    progress = max(0, fine_tune_epoch) / max(1, ramp_epochs)
    size = cfg.min_train_size + (cfg.input_size - cfg.min_train_size) * progress
    return min(cfg.input_size, int(size) // 32 * 32)


def learning_rate(cfg, epoch: int, step: int, steps_per_epoch: int) -> float:
    """Constant head_lr for the head-only epochs, then linear warm-up and cosine decay."""
    if epoch < cfg.head_epochs:
        return cfg.head_lr
    done = (epoch - cfg.head_epochs) * steps_per_epoch + step
    total = max(1, (cfg.epochs - cfg.head_epochs) * steps_per_epoch)
    warmup = cfg.warmup_epochs * steps_per_epoch
    if done < warmup:
        return cfg.lr * (done + 1) / warmup
    progress = (done - warmup) / max(1, total - warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


def parameter_groups(model: nn.Module, weight_decay: float) -> list:
    """No weight decay on biases and normalisation parameters (the usual AdamW practice)."""
    decay, no_decay = [], []
    for param in model.parameters():
        (no_decay if param.ndim <= 1 else decay).append(param)
    return [{'params': decay, 'weight_decay': weight_decay},
            {'params': no_decay, 'weight_decay': 0.0}]


def set_trainable(model: nn.Module, frozen_modules, head_only: bool) -> None:
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


def train_one_epoch(model, criterion, optimizer, loader, cfg, epoch, writer, wandb_run) -> dict:
    steps = len(loader)
    seen, loss_sum, correct = 0, 0.0, 0
    start = time.perf_counter()
    bar = tqdm(loader, desc=f'epoch {epoch + 1}/{cfg.epochs}', leave=False, mininterval=2,
               dynamic_ncols=True)
    for step, (images, targets) in enumerate(bar):
        lr = learning_rate(cfg, epoch, step, steps)
        for group in optimizer.param_groups:
            group['lr'] = lr
        images = images.contiguous(memory_format=torch.channels_last)
        logits = model(images)
        loss = criterion(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        seen += len(targets)
        loss_sum += loss.item() * len(targets)
        correct += (logits.argmax(1) == targets).sum().item()
        bar.set_postfix(loss=f'{loss_sum / seen:.3f}', lr=f'{lr:.1e}', refresh=False)
        global_step = epoch * steps + step
        if step % 10 == 0:
            writer.add_scalar('train/loss', loss.item(), global_step)
            writer.add_scalar('train/lr', lr, global_step)
    seconds = time.perf_counter() - start
    stats = {'loss': loss_sum / seen, 'accuracy': correct / seen,
             'images_per_s': seen / seconds, 'seconds': seconds}
    for key, value in stats.items():
        writer.add_scalar(f'train/{key}', value, epoch + 1)
    if wandb_run is not None:
        wandb_run.log({f'train/{key}': value for key, value in stats.items()}, step=epoch + 1)
    return stats


@torch.no_grad()
def predict(model, loader) -> tuple:
    """Probabilities and labels over a loader, in eval mode."""
    model.eval()
    probabilities, labels = [], []
    for images, targets in loader:
        logits = model(images.contiguous(memory_format=torch.channels_last))
        probabilities.append(logits.float().softmax(1))
        labels.append(targets)
    return torch.cat(probabilities).numpy(), torch.cat(labels).numpy()


def log_metrics(metrics: dict, epoch: int, writer, wandb_run) -> None:
    scalars = {'val/top1': metrics['top1'], 'val/macro_f1': metrics['macro_f1']}
    scalars.update({f'val_recall/{name}': row['recall']
                    for name, row in metrics['per_class'].items()})
    for key, value in scalars.items():
        writer.add_scalar(key, value, epoch + 1)
    if wandb_run is not None:
        wandb_run.log(scalars, step=epoch + 1)


def save_checkpoint(path: Path, state: dict) -> None:
    """Write then rename, so an interrupted save never leaves a half-written checkpoint."""
    tmp = path.with_suffix('.tmp')
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path) -> dict:
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except OSError:
        raise  # a missing or unreadable file says so itself
    except Exception as error:  # noqa: BLE001 - torch: UnpicklingError, RuntimeError, EOFError
        # torch's text for a foreign file advises weights_only=False, which would run code from
        # the file: say what the file is not, with only the unpickler's reason from torch.
        reason = (str(error).partition('WeightsUnpickler error:')[2].strip() or str(error)
                  or type(error).__name__)
        raise ValueError(f'{path}: not a readable waste_classifier_ros training checkpoint '
                         f'({reason.splitlines()[0]})') from error
    if not isinstance(checkpoint, dict) or checkpoint.get('format') != CHECKPOINT_FORMAT:
        raise ValueError(f'{path}: not a waste_classifier_ros training checkpoint')
    return checkpoint


def model_from_checkpoint(checkpoint: dict) -> nn.Module:
    model = models.create_model(checkpoint['arch'], len(checkpoint['classes']), pretrained=False)
    model.load_state_dict(checkpoint['model'])
    return model.eval()


def start_wandb(cfg, out_dir: Path):
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
    return ' '.join(['python -m training.train'] + [shlex.quote(o) for o in overrides])


def run(cfg: DictConfig, out_dir) -> dict:
    """Train as configured, writing checkpoints and TensorBoard logs to out_dir."""
    wall_start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.workers:
        # OpenCV's thread pool does not survive fork(): once used in this process, a forked
        # DataLoader worker calling OpenCV can hang. Keep OpenCV single-threaded from the start.
        cv2.setNumThreads(1)
    torch.manual_seed(cfg.seed)
    log.info('config:\n%s', OmegaConf.to_yaml(cfg))

    data_dir = Path(to_absolute_path(cfg.data_dir)).resolve()
    load_start = time.perf_counter()
    train_set, val_set, dataset_info = data.load_train_val(data_dir, cfg.cache_short_side,
                                                           cfg.input_size)
    classes = train_set.classes
    log.info('classes %s; train %s; val %s; loaded in %.1f s', classes, dataset_info['train'],
             dataset_info['val'], time.perf_counter() - load_start)

    model = models.create_model(cfg.arch, len(classes), cfg.pretrained, cfg.weights)
    model = model.to(memory_format=torch.channels_last)
    frozen = models.stem_modules(model, cfg.freeze_stages)
    optimizer = torch.optim.AdamW(parameter_groups(model, cfg.weight_decay), lr=cfg.lr)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)

    start_epoch, previous_seconds = 0, 0.0
    command, resumes = reproduce_command(), []
    if cfg.resume:
        checkpoint = load_checkpoint(to_absolute_path(cfg.resume))
        if checkpoint['classes'] != classes or checkpoint['arch'] != cfg.arch:
            raise ValueError(f'{cfg.resume}: checkpoint is {checkpoint["arch"]} over '
                             f'{checkpoint["classes"]}, not {cfg.arch} over {classes}')
        model.load_state_dict(checkpoint['model'])
        optimizer.load_state_dict(checkpoint['optimizer'])
        start_epoch = checkpoint['epoch']
        previous_seconds = checkpoint['train_seconds']
        # The run is still reproduced by its first command; the resumes are kept as history.
        command = checkpoint['command']
        resumes = checkpoint.get('resumes', []) + [
            {'after_epoch': start_epoch, 'command': reproduce_command()}]
        log.info('resumed from %s after epoch %d', cfg.resume, start_epoch)

    augment = transforms.train_augmentation(cfg.augment_strength, cfg.new_background_p)
    train_data = data.AugmentedImages(train_set, augment)
    val_loader = torch.utils.data.DataLoader(data.PreprocessedImages(val_set),
                                             batch_size=2 * cfg.batch_size)
    writer = SummaryWriter(str(out_dir / 'tb'))
    wandb_run = start_wandb(cfg, out_dir)
    config = OmegaConf.to_container(cfg, resolve=True)
    metrics = None
    for epoch in range(start_epoch, cfg.epochs):
        epoch_seed = cfg.seed * 1000 + epoch
        train_data.size = train_size(cfg, epoch)
        train_data.rng = np.random.default_rng(epoch_seed)
        loader = torch.utils.data.DataLoader(
            train_data, batch_size=cfg.batch_size, drop_last=True,
            sampler=data.class_balanced_sampler(train_set.labels, len(classes),
                                                cfg.balance_power, epoch_seed),
            num_workers=cfg.workers, worker_init_fn=data.seed_worker,
            generator=torch.Generator().manual_seed(epoch_seed))
        set_trainable(model, frozen, head_only=epoch < cfg.head_epochs)
        stats = train_one_epoch(model, criterion, optimizer, loader, cfg, epoch, writer,
                                wandb_run)
        probabilities, labels = predict(model, val_loader)
        metrics = compute_metrics(probabilities, labels, classes)
        log_metrics(metrics, epoch, writer, wandb_run)
        elapsed = previous_seconds + time.perf_counter() - wall_start
        recalls = ' '.join(f'{name}={row["recall"]:.2f}'
                           for name, row in metrics['per_class'].items())
        log.info('epoch %d/%d size %d: loss %.4f train-acc %.3f (%.1f img/s, %.0f s) | val '
                 'top-1 %.4f macro-F1 %.4f | recall %s | %.1f min so far', epoch + 1,
                 cfg.epochs, train_data.size, stats['loss'], stats['accuracy'],
                 stats['images_per_s'], stats['seconds'], metrics['top1'], metrics['macro_f1'],
                 recalls, elapsed / 60)
        save_checkpoint(out_dir / 'last.ckpt', {
            'format': CHECKPOINT_FORMAT,
            'arch': cfg.arch,
            'classes': classes,
            'input_size': cfg.input_size,
            'preprocessing': DESCRIPTION,
            'config': config,
            'command': command,
            'resumes': resumes,
            'dataset': dataset_info,
            'epoch': epoch + 1,
            'model': model.state_dict(),
            'optimizer': optimizer.state_dict(),
            'metrics': metrics,
            'train_seconds': elapsed,
        })
    writer.close()
    if wandb_run is not None:
        wandb_run.finish()
    total = previous_seconds + time.perf_counter() - wall_start
    if metrics is not None:
        log.info('final val metrics:\n%s', format_metrics(metrics))
    log.info('training finished: %d epochs, total wall time %.1f min (%.0f s); checkpoint %s',
             cfg.epochs, total / 60, total, out_dir / 'last.ckpt')
    return {'metrics': metrics, 'checkpoint': str(out_dir / 'last.ckpt'), 'seconds': total}


@hydra.main(version_base='1.3', config_path='conf', config_name='train')
def main(cfg: DictConfig) -> float:
    result = run(cfg, HydraConfig.get().runtime.output_dir)
    # Returned for Hydra sweepers that optimise a value.
    return result['metrics']['macro_f1'] if result['metrics'] else 0.0


if __name__ == '__main__':
    sys.exit(main())
