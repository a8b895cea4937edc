# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Training throughput of one process against several under torchrun, on a small subset of waste7.

    python -m benchmarks.training_throughput                 # 1 against 2 processes (CPU)
    python -m benchmarks.training_throughput --processes 1 2 4 --device cuda --per-class 128

Each run is the recipe (pretrained EfficientNet-Lite0, a head-only epoch, then a fine-tuning
epoch at the first progressive size) on the first ``--per-class`` training photos of every class;
one process is ``python -m training.recipe.train``, N processes ``torchrun --nproc-per-node N -m
training.recipe.train``. The figure is the fine-tuning epoch's images per second, in total and per
process, as the training log and the checkpoint record it. The rows go to
``benchmarks/training_throughput.json``, which ``benchmarks.report`` puts in BENCHMARKS.md's
training section; BENCHMARKS.md is rewritten from the stored results.json, nothing else is
measured or re-checked.
"""

import argparse
import datetime
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Sequence

from benchmarks import report
from benchmarks.run import ROOT, eval_subset
from training.recipe.checkpoints import load_checkpoint

CLASSES_FILE = ROOT / 'model' / 'labels.txt'


def measure_run(processes: int, data: Path, device: str, batch_size: int, out_dir: Path,
                log_path: Path) -> dict:
    """Train the short recipe on ``processes`` processes; return the fine-tuning epoch's stats."""
    launcher = ([sys.executable, '-m', 'training.recipe.train'] if processes == 1 else
                [sys.executable, '-m', 'torch.distributed.run', '--standalone',
                 '--nproc-per-node', str(processes), '-m', 'training.recipe.train'])
    overrides = ['dataset=permissive', f'sources.waste7.root={data}',
                 f'classes_file={CLASSES_FILE}', 'epochs=2', 'head_epochs=1',
                 f'batch_size={batch_size}', f'device={device}', 'threads=1', 'workers=0',
                 f'hydra.run.dir={out_dir}']
    load_before = os.getloadavg()[0]
    with open(log_path, 'w') as log:
        subprocess.run(launcher + overrides, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                       check=True)
    stats = load_checkpoint(out_dir / 'last.ckpt')['train']
    return {'processes': processes, 'images_per_s': stats['images_per_s'],
            'images_per_s_per_process': stats['images_per_s_per_process'],
            'epoch_seconds': stats['seconds'],
            'loadavg_1min': [load_before, os.getloadavg()[0]]}


def rows(measured: list[dict], images: int, device: str, batch_size: int,
         date: str) -> list[dict]:
    """Return the training-section rows: total and per-process throughput of every run."""
    table = []
    for run in measured:
        processes = f'{run["processes"]} process' + ('es' if run['processes'] > 1 else '')
        source = (f'training.recipe.train, {processes} on {device}, {images} images, batch '
                  f'{batch_size}, fine-tuning epoch; {date}, 1-min load '
                  f'{run["loadavg_1min"][0]:.1f} -> {run["loadavg_1min"][1]:.1f} on '
                  f'{os.cpu_count()} cores')
        table.append({'figure': f'training throughput, {processes}, in total (images/s)',
                      'value': run['images_per_s'], 'source': source})
        if run['processes'] > 1:
            table.append({'figure': f'training throughput, {processes}, per process '
                                    '(images/s)',
                          'value': run['images_per_s_per_process'], 'source': source})
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--data', default=str(ROOT.parent / 'shared' / 'data' / 'waste7'),
                        help='a class-per-folder root with train/ and val/ (default: waste7)')
    parser.add_argument('--per-class', type=int, default=32,
                        help='training photos per class (val: a quarter of it)')
    parser.add_argument('--processes', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch-size', type=int, default=32, help='the global batch')
    parser.add_argument('--work-dir', default=str(ROOT / 'bench_output' / 'training'))
    parser.add_argument('--json', default=str(report.HERE / 'results.json'),
                        help='the bench results the rest of the report comes from')
    parser.add_argument('--report', default=str(ROOT / 'BENCHMARKS.md'))
    args = parser.parse_args(argv)
    work_dir = Path(args.work_dir)
    data = Path(args.data)
    classes = [path for path in (data / 'train').iterdir() if path.is_dir()]
    subset = work_dir / 'data'
    eval_subset(data / 'train', args.per_class * len(classes), subset / 'train')
    eval_subset(data / 'val', max(1, args.per_class // 4) * len(classes), subset / 'val')
    images = sum(1 for path in (subset / 'train').rglob('*') if path.is_file())
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')
    measured = []
    for processes in args.processes:
        print(f'[training throughput] {processes} process(es), {images} images', flush=True)
        run = measure_run(processes, subset.resolve(), args.device, args.batch_size,
                          work_dir / f'run_{processes}', work_dir / f'run_{processes}.log')
        print(f'[training throughput] {run["images_per_s"]:.1f} img/s in total, '
              f'{run["images_per_s_per_process"]:.1f} per process', flush=True)
        measured.append(run)
    report.TRAINING_THROUGHPUT.write_text(json.dumps(
        {'date': date, 'measured': measured,
         'rows': rows(measured, images, args.device, args.batch_size, date)}, indent=2) + '\n',
        encoding='utf-8')
    results = json.loads(Path(args.json).read_text(encoding='utf-8'))
    Path(args.report).write_text(report.markdown(results), encoding='utf-8')
    print(f'[training throughput] wrote {report.TRAINING_THROUGHPUT} and {args.report}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
