# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Adapt the deployed network to a station: the last blocks or the whole network.

training.station.retrain calls this for ``--scope blocks`` and ``--scope all`` (``--scope head``,
the last layer alone, is retrain's own). The network is rebuilt from the ONNX file
(training.station.onnx_weights) and split into a frozen trunk and a trained top:

==========  ==========================================  ===================================
scope       trained (the top)                           frozen trunk, run once per photo
==========  ==========================================  ===================================
``blocks``  stages ``blocks_from``.. (default 4: 4-6),  stem and the first ``blocks_from``
            the head convolution, the classifier        stages, in ONNX Runtime
``all``     every weight but the BatchNorm statistics   (none)
==========  ==========================================  ===================================

The trunk's outputs are computed once per photo and view (the deployment view plus
``views - 1`` augmented ones) and the top trains on them, so a ``blocks`` step costs a
fraction of a forward pass; ``all`` augments every step. The draw is training.recipe.sources'
class- and source-balanced one over the base sources plus the station. Each epoch scores the
station's val photos and the base sources' val photos; the kept epoch is the one with the best
station top-1 among those within the promote rule's guard (promotion.Guard: no base source's
val shown by its paired interval to lose more than ``max_drop`` top-1 or ``max_class_drop``
recall of a class with enough photos; when every epoch broke it, the best on the station,
which the rule will then refuse); of it and the WiSE-FT mixes, promotion.choose keeps the
best on the station's val (one fit's epochs and mixes are equally changed); training stops after
``patience`` epochs without a better station top-1. BatchNorm layers stay in eval mode (their
statistics frozen; a few hundred photos are too few to re-estimate them in training).

Label-free (``reestimate_statistics``): the normalisation statistics of every BatchNorm
re-estimated on the station's unlabelled photos (its inbox captures and reviewed photos, labels
unused), after ``onnx_weights.unfold_batchnorm`` gave them their base-source values.

The kept model gets a new temperature fitted on the station's val (training.recipe.calibration),
folded into its classifier layer, and is exported through training.recipe.export.
"""

import argparse
from dataclasses import dataclass, field, replace
import json
import logging
from pathlib import Path
import time
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import onnx
from timm.optim import param_groups_weight_decay
from timm.scheduler import CosineLRScheduler
import torch
from torch import nn
from tqdm import tqdm

from training.recipe import calibration, data, models, sources, transforms
from training.recipe.metrics import compute_metrics
from training.station.onnx_weights import batchnorms
from training.station.resume import WorkFolder, key_of
from waste_classifier_ros.backends.onnx_runtime import open_session
from waste_classifier_ros.core import model_card
from waste_classifier_ros.core.preprocessing import normalize_chw, resize_rgb
from waste_classifier_ros.flywheel.promotion import (
    GUARD_CONFIDENCE,
    STATION,
    Candidate,
    Guard,
    choose,
)

log = logging.getLogger(__name__)
SCOPES = ('head', 'blocks', 'all')
DEFAULT_SCOPE = 'blocks,head'
DEFAULT_LR = {'blocks': 1e-3, 'all': 3e-4}


def scopes_of(text: str) -> list[str]:
    """Parse a list of scopes: one or more of SCOPES, comma-separated, each once."""
    scopes = [scope.strip() for scope in text.split(',')]
    if not all(scope in SCOPES for scope in scopes) or len(set(scopes)) < len(scopes):
        raise argparse.ArgumentTypeError(f'{text!r}: one or more of {", ".join(SCOPES)}, '
                                         'comma-separated, each once')
    return scopes


@dataclass
class Photos:
    """Decoded photos in the deployment view (stretched to the input size), with labels."""

    images: list
    labels: np.ndarray
    source_ids: np.ndarray
    paths: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def take(self, rows: np.ndarray) -> 'Photos':
        """Return the photos at ``rows``, in that order."""
        return Photos([self.images[i] for i in rows], self.labels[rows], self.source_ids[rows],
                      [self.paths[i] for i in rows] if self.paths else [])


def decode(samples: Sequence, classes: Sequence[str], size: int = 224,
           source_id: int = 0) -> Photos:
    """Decode (path, label) samples to the deployment view; unreadable files are an error."""
    image_set = data.load_images(samples, classes, lambda rgb: resize_rgb(rgb, size))
    if image_set.skipped:
        raise ValueError(f'{len(image_set.skipped)} photo(s) cannot be decoded, e.g. '
                         f'{image_set.skipped[0]}: remove or replace them')
    return Photos(image_set.images, np.asarray(image_set.labels, dtype=np.int64),
                  np.full(len(image_set.labels), source_id, dtype=np.int64), image_set.paths)


def concat(parts: Sequence[Photos]) -> Photos:
    return Photos([image for part in parts for image in part.images],
                  np.concatenate([part.labels for part in parts]),
                  np.concatenate([part.source_ids for part in parts]),
                  [path for part in parts for path in part.paths])


def top_of(model: nn.Module, scope: str, blocks_from: int) -> nn.Module:
    """Return the trained part, sharing the model's modules (model == top after the trunk)."""
    if scope == 'all':
        return model
    if scope != 'blocks':
        raise ValueError(f'scope {scope!r}: training.station.adapt trains blocks or all')
    net: Any = model  # a timm EfficientNet
    if not 0 < blocks_from < len(net.blocks):
        raise ValueError(f'blocks_from={blocks_from}: the network has stages 1 to '
                         f'{len(net.blocks) - 1} to start training from')
    return nn.Sequential(*net.blocks[blocks_from:], net.conv_head, net.bn2, net.global_pool,
                         net.classifier)


def set_top_training(top: nn.Module, training: bool) -> None:
    """Train mode for the top (dropout, drop path) with every BatchNorm kept in eval mode."""
    top.train(training)
    for norm in batchnorms(top):
        norm.eval()


def normalised(images: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack([normalize_chw(np.ascontiguousarray(i)) for i in images]))


def batches_of(images: Sequence[np.ndarray], batch_size: int, desc: str,
               augment: Optional[Callable] = None) -> Iterator[torch.Tensor]:
    """Normalised batches of the photos (optionally augmented), with a progress bar."""
    for first in tqdm(range(0, len(images), batch_size), desc=desc, leave=False,
                      mininterval=2, dynamic_ncols=True):
        chunk = images[first:first + batch_size]
        if augment is not None:
            chunk = [augment(image=image)['image'] for image in chunk]
        yield normalised(chunk)


def stage_output(graph: onnx.GraphProto, blocks_from: int) -> str:
    """Name of the tensor stage ``blocks_from - 1`` of an exported network ends in."""
    prefix = f'/model/blocks/blocks.{blocks_from - 1}/'
    names = [node.output[0] for node in graph.node if node.name.startswith(prefix)]
    if not names:
        raise ValueError(f'the ONNX graph has no stage {blocks_from - 1} '
                         '(not a network exported by training.recipe.export?)')
    return names[-1]


class Trunk:
    """The frozen stages of the network in ONNX Runtime, two to four times faster than PyTorch.

    The exported model read up to stage ``blocks_from - 1`` (or up to the tensor ``output``).
    """

    def __init__(self, model: onnx.ModelProto, blocks_from: int, threads: int = 0,
                 output: Optional[str] = None) -> None:
        graph = onnx.ModelProto()
        graph.CopyFrom(model)
        self.name = output or stage_output(graph.graph, blocks_from)
        del graph.graph.output[:]
        graph.graph.output.append(onnx.helper.make_tensor_value_info(
            self.name, onnx.TensorProto.FLOAT, None))
        self.session = open_session(graph.SerializeToString(), num_threads=threads,
                                    log=log.info)

    def __call__(self, photos: 'Photos', views: int, strength: float, seed: int,
                 batch_size: int, desc: str) -> torch.Tensor:
        """Run the trunk on every photo and view; float16 [N, views, C, H, W] on the CPU.

        View 0 is the deployment view; views 1.. are training augmentations (seeded).
        """
        out = []
        for view in range(views):
            augment = None
            if view:
                augment = transforms.train_augmentation(224, strength)
                augment.set_random_seed(seed * 100 + view)
            rows = [torch.from_numpy(self.session.run(None, {'input_0': batch.numpy()})[0])
                    .half() for batch in batches_of(photos.images, batch_size,
                                                    f'{desc} view {view + 1}/{views}', augment)]
            out.append(torch.cat(rows))
        return torch.stack(out, dim=1)


def reestimate_statistics(model: nn.Module, photos: Sequence[np.ndarray], batch_size: int,
                          device: torch.device) -> int:
    """AdaBN: every BatchNorm's statistics measured again on ``photos`` (labels unused).

    Layer by layer in one pass: each BatchNorm normalises with the statistics of the batch it
    sees while its running statistics become the cumulative average over all batches. Nothing
    but ``running_mean``, ``running_var`` and ``num_batches_tracked`` changes.
    """
    if len(photos) < batch_size:
        raise ValueError(f'{len(photos)} unlabelled photos are too few to measure the '
                         f'normalisation statistics (at least {batch_size})')
    norms = batchnorms(model)
    momenta = [norm.momentum for norm in norms]
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    order = np.random.default_rng(0).permutation(len(photos))
    usable = len(photos) // batch_size * batch_size  # full batches: no tiny last batch
    with torch.no_grad():
        for batch in batches_of([photos[i] for i in order[:usable]], batch_size,
                                'normalisation statistics'):
            model(batch.to(device))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    model.eval()
    return usable


@dataclass
class Settings:
    """What the top trains with; the defaults are the measured ones (docs/flywheel.md)."""

    scope: str = 'blocks'
    blocks_from: int = 4
    views: int = 2
    augment_strength: float = 0.6
    epochs: int = 8
    patience: int = 2
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    station_weight: float = 1.0
    balance_power: float = 0.5
    samples_per_epoch: int = 0      # 0: twice the station's training photos, at least 512
    mix_steps: int = 4              # WiSE-FT: also try start + i/mix_steps of the change (0: off)
    max_drop: float = 0.01
    max_class_drop: float = 0.10
    guard_confidence: float = GUARD_CONFIDENCE  # 0: the strict guard (promotion.Guard)
    seed: int = 0


@dataclass
class Scored:
    """Logits and labels of one evaluation set, with its metrics."""

    logits: np.ndarray
    labels: np.ndarray
    metrics: dict


def score(logits: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> Scored:
    return Scored(logits, labels, compute_metrics(calibration.softmax(logits), labels, classes))


@dataclass
class _Loop:
    """What one fit's epochs share (Adapter._loop)."""

    train: Photos
    train_cached: Optional[torch.Tensor]
    rng: np.random.Generator
    draw: np.ndarray  # the probability of drawing each photo
    steps: int  # an epoch's batches
    optimizer: torch.optim.Optimizer
    schedule: CosineLRScheduler
    augment: Callable[..., dict]
    labels: torch.Tensor


@dataclass
class _Run:
    """A fit's progress: report rows, the weights that may still be kept, early stopping."""

    rows: list  # the start, then each epoch (Candidate.row)
    states: dict  # epoch -> weights, for the best epochs so far (0: the start)
    judged: dict  # epoch -> Candidate, for the epochs in ``states``
    epoch: int = 0
    since_best: int = 0
    best_station: float = -1.0

    def best(self) -> tuple[Candidate, Optional[Candidate]]:
        """Return the best epoch on the station whatever the guard (else the start), and within."""
        epochs = [self.judged[e] for e in sorted(self.judged)]
        start = Candidate(self.rows[0]['station_top1'], self.rows[0]['base_top1'])
        return choose(epochs, guarded=False) or start, choose(epochs)

    def keep_only_best(self) -> None:
        best_any, best_guarded = self.best()
        keep = {0, best_any.epoch, getattr(best_guarded, 'epoch', 0)}
        self.states = {e: v for e, v in self.states.items() if e in keep}
        self.judged = {e: v for e, v in self.judged.items() if e in keep}

    def state(self, model: nn.Module, loop: '_Loop') -> dict:
        """Return what a resumed fit needs, as tensors and plain containers (weights_only)."""
        return {'epoch': self.epoch, 'since_best': self.since_best,
                'best_station': self.best_station, 'rows': json.dumps(self.rows),
                'states': self.states, 'model': model.state_dict(),
                'optimizer': loop.optimizer.state_dict(),
                'rng': json.dumps(loop.rng.bit_generator.state),
                'torch_rng': torch.get_rng_state()}


class Adapter:
    """Trains the top of a rebuilt network on cached trunk outputs (or on photos for ``all``)."""

    def __init__(self, model: nn.Module, exported: onnx.ModelProto, settings: Settings,
                 classes: Sequence[str], device: torch.device) -> None:
        """``model``: the network rebuilt from ``exported`` (the same function)."""
        self.model, self.settings, self.classes, self.device = model, settings, classes, device
        self.top = top_of(model, settings.scope, settings.blocks_from)
        self.trunk = Trunk(exported, settings.blocks_from) if settings.scope != 'all' else None
        self.work: Optional[WorkFolder] = None  # where a fit is kept to resume (None: nowhere)
        self.model.to(device)

    def inputs(self, photos: Photos, views: int, desc: str) -> Optional[torch.Tensor]:
        """Return what the top reads per photo: cached trunk outputs (None for ``all``)."""
        trunk = self.trunk
        if trunk is None:
            return None
        s = self.settings

        def compute() -> torch.Tensor:
            return trunk(photos, views, s.augment_strength, s.seed, 2 * s.batch_size, desc)

        if self.work is None:
            return compute()
        return self.work.trunk(f'{desc.replace(" ", "_")}-' + key_of(
            photos.paths, views, s.augment_strength, s.seed, s.blocks_from), compute)

    @torch.no_grad()
    def logits(self, photos: Photos, cached: torch.Tensor) -> np.ndarray:
        set_top_training(self.top, False)
        rows = []
        size = 2 * self.settings.batch_size
        if self.settings.scope == 'all':
            for batch in batches_of(photos.images, size, 'scoring'):
                rows.append(self.top(batch.to(self.device)).float().cpu())
        else:
            for first in range(0, len(cached), size):
                rows.append(self.top(cached[first:first + size, 0].to(self.device).float())
                            .float().cpu())
        return torch.cat(rows).numpy()

    def evaluate(self, sets: dict) -> dict:
        """Score every set: name -> (photos, cached) gives name -> Scored."""
        return {name: score(self.logits(photos, cached), photos.labels, self.classes)
                for name, (photos, cached) in sets.items()}

    def fit(self, train: Photos, train_cached: Optional[torch.Tensor],
            source_weights: Sequence[float],
            station_val: Optional[tuple], base_val: dict) -> dict:
        """Train the top; keep the best guarded epoch or mix. Returns the history and the choice.

        Each epoch and each WiSE-FT mix is a promotion.Candidate; promotion.choose keeps the best
        on the station's val within the guard (a mix must also have learnt there), else the best
        epoch on the station whatever the guard (which the promote rule will then refuse). With
        a work folder, each finished epoch is kept there and a rerun resumes after it.
        """
        s = self.settings
        torch.manual_seed(s.seed)
        loop = self._loop(train, train_cached, source_weights)
        start_base = {n: r.metrics for n, r in self.evaluate(base_val).items()}
        start_station = self.evaluate({STATION: station_val})[STATION].metrics['top1'] \
            if station_val else None
        initial = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        run = self._resumed(loop, start_base, station_val, base_val) or _Run(
            [Candidate(start_station, {n: m['top1'] for n, m in start_base.items()}).row()],
            {0: initial}, {})
        while run.epoch < s.epochs and run.since_best < s.patience:
            self._one_epoch(loop, run, start_base, station_val, base_val)
        if run.since_best >= s.patience:
            log.info('stopped: no better station top-1 for %d epochs', s.patience)
        best_any, best_guarded = run.best()
        mixes = self.interpolate(initial, run.states[best_any.epoch], best_any.epoch, start_base,
                                 station_val, base_val)
        kept = choose(mixes, start_station, incumbent=best_guarded)
        if kept is None:
            log.warning('every epoch broke the guard on the base sources; keeping the best on '
                        'the station (the promote rule will say which class blocked)')
        kept = kept or best_any
        self.model.load_state_dict(run.states[kept.epoch] if kept.share == 1.0 else
                                   interpolated(initial, run.states[kept.epoch], kept.share))
        set_top_training(self.top, False)
        if self.work is not None:
            self.work.finish()
        return {'history': run.rows, 'kept': kept, 'kept_epoch': kept.epoch,
                'kept_share': kept.share, 'within_guard': not kept.guard,
                'steps_per_epoch': loop.steps, 'mixes': [c.row(c is kept) for c in mixes]}

    def _one_epoch(self, loop: '_Loop', run: '_Run', start_base: dict,
                   station_val: Optional[tuple], base_val: dict) -> None:
        """Train and judge one epoch; keep the weights that may be chosen; log time left."""
        s = self.settings
        tic = time.perf_counter()
        run.epoch += 1
        loss = self._train_epoch(loop, run.epoch)
        candidate, base_now = self.judge(start_base, station_val, base_val, run.epoch)
        seconds = round(time.perf_counter() - tic, 1)
        run.rows.append(replace(candidate, facts={'loss': loss, 'seconds': seconds}).row())
        run.judged[run.epoch] = candidate
        run.states[run.epoch] = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        run.keep_only_best()
        if candidate.station_top1 is not None and candidate.station_top1 > run.best_station:
            run.best_station, run.since_best = candidate.station_top1, 0
        else:
            run.since_best += 1
        left = (s.epochs - run.epoch) * seconds
        log.info('%s epoch %d/%d: loss %.3f, %s (%.0f s); at most %.1f min left (%d epochs, '
                 'early stopping may end sooner)', s.scope, run.epoch, s.epochs, loss,
                 scores_line(candidate, base_now), seconds, left / 60, s.epochs - run.epoch)
        if self.work is not None:
            self.work.save_epoch(run.state(self.model, loop))

    def _resumed(self, loop: '_Loop', start_base: dict, station_val: Optional[tuple],
                 base_val: dict) -> Optional['_Run']:
        """Return the run as the last finished epoch in the work folder left it, or None."""
        if self.work is None:
            return None
        saved = self.work.last_epoch()
        if saved is None:
            return None
        run = _Run(json.loads(saved['rows']), saved['states'], {}, saved['epoch'],
                   saved['since_best'], saved['best_station'])
        for epoch, state in run.states.items():  # the candidates that may still be chosen
            if epoch:
                self.model.load_state_dict(state)
                run.judged[epoch] = self.judge(start_base, station_val, base_val, epoch)[0]
        self.model.load_state_dict(saved['model'])
        loop.optimizer.load_state_dict(saved['optimizer'])
        loop.rng.bit_generator.state = json.loads(saved['rng'])
        torch.set_rng_state(saved['torch_rng'])
        log.info('resumed after epoch %d of %d (%s)', run.epoch, self.settings.epochs,
                 self.work.folder)
        return run

    def _loop(self, train: Photos, train_cached: Optional[torch.Tensor],
              source_weights: Sequence[float]) -> '_Loop':
        """Everything the epochs share: the draw, the optimiser and schedule, the targets."""
        s = self.settings
        rng = np.random.default_rng(s.seed)
        draw = sources.sample_weights(train.labels, train.source_ids, source_weights,
                                      len(self.classes), s.balance_power)
        station_count = int((train.source_ids == len(source_weights) - 1).sum())
        per_epoch = s.samples_per_epoch or max(512, 2 * station_count)
        steps = max(1, per_epoch // s.batch_size)
        for norm in batchnorms(self.top):  # a BatchNorm's weight holds its channel's scale
            norm.weight.requires_grad_(False)
        optimizer = torch.optim.AdamW(param_groups_weight_decay(self.top, s.weight_decay),
                                      lr=s.lr)
        # Cosine from lr to 0 over every step of the run, set before each step.
        schedule = CosineLRScheduler(optimizer, t_initial=s.epochs * steps, lr_min=0.0,
                                     t_in_epochs=False)
        augment = transforms.train_augmentation(224, s.augment_strength)
        augment.set_random_seed(s.seed)
        return _Loop(train, train_cached, rng, draw, steps, optimizer, schedule, augment,
                     torch.from_numpy(train.labels))

    def _train_epoch(self, loop: '_Loop', epoch: int) -> float:
        """One epoch of `loop.steps` batches drawn by source and class; the mean loss."""
        s = self.settings
        set_top_training(self.top, True)
        losses = []
        bar = tqdm(range(loop.steps), desc=f'{s.scope} epoch {epoch}/{s.epochs}', leave=False,
                   mininterval=2, dynamic_ncols=True)
        for step in bar:
            loop.schedule.step_update((epoch - 1) * loop.steps + step)
            loss = self._loss(loop, loop.rng.choice(len(loop.train), size=s.batch_size,
                                                    p=loop.draw))
            loop.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            loop.optimizer.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f'{np.mean(losses):.3f}', refresh=False)
        return float(np.mean(losses))

    def _loss(self, loop: '_Loop', index: np.ndarray) -> torch.Tensor:
        """Cross-entropy of one batch: cached outputs of a random view, or augmented photos."""
        rows = torch.from_numpy(index)
        if loop.train_cached is None:  # scope all: augmented photos
            batch = normalised([loop.augment(image=loop.train.images[i])['image']
                                for i in index])
        else:
            view = torch.from_numpy(loop.rng.integers(0, loop.train_cached.shape[1],
                                                      len(index)))
            batch = loop.train_cached[rows, view].float()
        batch = batch.to(self.device)
        target = nn.functional.one_hot(loop.labels[rows], len(self.classes)).float()
        logits = self.top(batch)
        return -(target.to(self.device) * logits.log_softmax(1)).sum(1).mean()

    def judge(self, start_base: dict, station_val: Optional[tuple], base_val: dict, epoch: int,
              share: float = 1.0) -> tuple[Candidate, dict]:
        """Score the network as it is: (the candidate, the base sources' metrics).

        Judged against ``start_base`` by the promote rule's guard (promotion.Guard with the
        settings' limits and confidence); ranked by station top-1, then its log-likelihood.
        """
        s = self.settings
        base_now = {n: r.metrics for n, r in self.evaluate(base_val).items()}
        now, likelihood = dict(base_now), 0.0
        if station_val:
            station = self.evaluate({STATION: station_val})[STATION]
            now[STATION] = station.metrics
            likelihood = -calibration.negative_log_likelihood(station.logits, station.labels, 1.0)
        guard = Guard(s.max_drop, s.max_class_drop, s.guard_confidence)
        return Candidate.scored(start_base, now, list(start_base), guard,
                                log_likelihood=likelihood, share=share, epoch=epoch), base_now

    def interpolate(self, initial: dict, end: dict, epoch: int, start_base: dict,
                    station_val: Optional[tuple], base_val: dict) -> list[Candidate]:
        """WiSE-FT: weights between the start and epoch ``epoch``'s (``end``), as candidates.

        ``start + a * (end - start)`` for a = 1 - i / mix_steps (i = 1 .. mix_steps - 1), with
        the end the best epoch on the station's val whether or not it kept the guard. Leaves the
        model at the last mix.
        """
        steps = self.settings.mix_steps
        mixes = []
        for i in range(1, steps if steps >= 2 else 1):
            share = 1 - i / steps
            self.model.load_state_dict(interpolated(initial, end, share))
            candidate, base_now = self.judge(start_base, station_val, base_val, epoch, share)
            mixes.append(candidate)
            log.info('mix %.2f of epoch %d: %s', share, epoch, scores_line(candidate, base_now))
        return mixes


def scores_line(candidate: Candidate, base: dict) -> str:
    """One candidate's scores for the log: station val, each base source's, the guard."""
    top1 = candidate.station_top1
    station = f'{100 * top1:.1f}%' if top1 is not None else '-'
    bases = ', '.join(f'{n} {100 * m["top1"]:.1f}%' for n, m in base.items())
    return f'station val {station}, {bases}' + (
        f'; guard: {candidate.guard}' if candidate.guard else '')


def interpolated(start: dict, end: dict, share: float) -> dict:
    """Return ``start + share * (end - start)`` per floating-point tensor (others: ``end``'s)."""
    return {k: start[k] + share * (v - start[k]) if v.is_floating_point() else v
            for k, v in end.items()}


def adapt_to_station(model_path: Path, settings: Settings, classes: list[str], train: Photos,
                     weights: list[float], station_val: Optional[Photos],
                     base_val: dict[str, Photos], device: torch.device,
                     unlabelled: Optional[list] = None, work: Optional[Path] = None
                     ) -> tuple[nn.Module, dict, Optional[dict], Candidate]:
    """Fine-tune the last blocks or the whole network of the model at ``model_path``.

    ``train`` holds the base sources' photos then the station's (source ids in ``weights``'
    order); with ``unlabelled`` station photos the normalisation statistics are re-estimated
    first (label-free). With ``work``, the frozen stages' outputs and each finished epoch are kept
    there and the same fit run again resumes (resume.WorkFolder). Returns (network, facts,
    calibration report, kept candidate).
    """
    base_images = [train.images[i] for i in np.flatnonzero(train.source_ids < len(weights) - 1)]
    model, exported = rebuild(model_path, unlabelled, base_images[::4], settings.batch_size)
    adapter = Adapter(model, exported, settings, classes, device)
    if work is not None:
        adapter.work = WorkFolder(work, key_of(
            model_card.sha256_file(model_path), vars(settings), train.paths,
            train.labels.tolist(), weights, getattr(station_val, 'paths', None),
            {n: p.paths for n, p in base_val.items()}, unlabelled is not None))
    cached = adapter.inputs(train, settings.views, 'train')
    station_set = (station_val, adapter.inputs(station_val, 1, 'station val')) \
        if station_val else None
    base_sets = {n: (p, adapter.inputs(p, 1, f'{n} val')) for n, p in base_val.items()}
    fit = adapter.fit(train, cached, weights, station_set, base_sets)
    report = None
    if station_set:
        report = fold_new_temperature(model, adapter.evaluate({STATION: station_set}))
    model.cpu()
    method = {'scope': settings.scope,
              'method': {'blocks': f'stages {settings.blocks_from}.. of the network, the head '
                                   'convolution and the classifier layer fine-tuned on cached '
                                   'outputs of the frozen stages',
                         'all': 'the whole network fine-tuned (BatchNorm statistics frozen)'}
              [settings.scope] + (", normalisation statistics re-estimated on the station's "
                                  'unlabelled photos' if unlabelled is not None else ''),
              'settings': vars(settings), 'device': str(device),
              'label_free': unlabelled is not None,
              'history': fit['history'], 'kept_epoch': fit['kept_epoch'],
              'kept_share': fit['kept_share'], 'mixes': fit['mixes'],
              'kept_within_guard': fit['within_guard']}
    return model, method, report, fit['kept']


def fold_new_temperature(model: nn.Module, scored: dict) -> dict:
    """Fit one temperature on ``scored`` (name -> Scored logits) and fold it into the head.

    Returns the calibration report (ECE and NLL before and after, per set).
    """
    logits = {name: r.logits for name, r in scored.items()}
    labels = {name: r.labels for name, r in scored.items()}
    value = calibration.fit_temperature(logits, labels)
    report = calibration.calibration_report(logits, labels, value)
    head: Any = models.head_module(model)
    with torch.no_grad():
        head.weight.div_(value)
        head.bias.div_(value)
    return report


def unfold_temperature(model: nn.Module, value: float) -> None:
    """Undo a folded temperature: the head outputs the logits it was trained to output."""
    head: Any = models.head_module(model)
    with torch.no_grad():
        head.weight.mul_(value)
        head.bias.mul_(value)


def parent_temperature(model_path: Path) -> float:
    """Return the temperature folded into the parent's head (1.0 when its card names none)."""
    card = model_path.with_name('model_card.json')
    if not card.exists():
        return 1.0
    return float((model_card.read_card(card).get('calibration') or {}).get('temperature', 1.0))


def rebuild(model_path: Path, unlabelled: Optional[Sequence[np.ndarray]] = None,
            base_photos: Optional[Sequence[np.ndarray]] = None,
            batch_size: int = 32) -> tuple[nn.Module, onnx.ModelProto]:
    """(network, its ONNX graph) of the parent, with the parent's temperature taken out.

    With ``unlabelled`` station photos, every BatchNorm first gets its statistics on
    ``base_photos`` back (onnx_weights.unfold_batchnorm) and then re-estimated on the station's
    photos (label-free); the returned graph is the re-estimated network exported again.
    """
    from training.station.onnx_weights import model_from_onnx, unfold_batchnorm

    model = model_from_onnx(model_path)
    exported = onnx.load(str(model_path))
    if unlabelled is not None and base_photos is not None:
        measured = unfold_batchnorm(model, batches_of(list(base_photos), 2 * batch_size,
                                                      'base statistics'))
        used = reestimate_statistics(model, list(unlabelled), batch_size, torch.device('cpu'))
        log.info('label-free: normalisation statistics re-estimated on %d station photos '
                 '(base statistics from %d photos)', used, measured)
        exported = to_onnx(model)
    unfold_temperature(model, parent_temperature(model_path))
    return model, exported


def to_onnx(model: nn.Module) -> onnx.ModelProto:
    """Export the network as training.recipe.export does (softmax inside), in memory."""
    import tempfile

    from training.recipe.export import export_onnx

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / 'model.onnx'
        export_onnx(model.cpu().eval(), path, 224, 17)
        return onnx.load(path)
